"""Statuses move forward only; failed follows accepted or sent, never delivered or read."""

from __future__ import annotations

import itertools

import pytest

from wagate.domain.lifecycle import Status, advances, resulting_status

S = Status


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        (S.ACCEPTED, S.SENT, True),
        (S.SENT, S.DELIVERED, True),
        (S.DELIVERED, S.READ, True),
        (S.ACCEPTED, S.READ, True),
        (S.READ, S.DELIVERED, False),
        (S.DELIVERED, S.SENT, False),
        (S.SENT, S.SENT, False),
        (S.ACCEPTED, S.FAILED, True),
        (S.SENT, S.FAILED, True),
        (S.DELIVERED, S.FAILED, False),
        (S.READ, S.FAILED, False),
        (S.FAILED, S.READ, False),
        (S.READ, S.PLAYED, True),
    ],
)
def test_advances(current: Status, new: Status, expected: bool) -> None:
    assert advances(current, new) is expected


def test_any_order_of_receipts_ends_read() -> None:
    for order in itertools.permutations([S.SENT, S.DELIVERED, S.READ]):
        assert resulting_status(S.ACCEPTED, list(order)) == S.READ


def test_failure_after_sent_is_kept_but_not_after_read() -> None:
    assert resulting_status(S.SENT, [S.FAILED]) == S.FAILED
    assert resulting_status(S.ACCEPTED, [S.READ, S.FAILED]) == S.READ


def test_unknown_status_is_none() -> None:
    assert Status.parse("deleted") is None
