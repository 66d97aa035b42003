"""Ids named in paths and queries."""

from __future__ import annotations

from wagate.ids import MAX_ID, parse_id


def test_ids_in_paths_are_ascii_digits_that_fit_a_bigint() -> None:
    assert parse_id("106540352242922") == 106540352242922
    assert parse_id(str(MAX_ID)) == MAX_ID
    for raw in ("", "-5", "+5", " 5", "5 ", "5_000", "²", "٣", "1e3", str(MAX_ID + 1), "9" * 25):
        assert parse_id(raw) is None, raw
