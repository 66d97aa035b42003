"""Sealing values at rest, the key ring from settings, and the blind search index."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from wagate.crypto import blind_index, sealing
from wagate.crypto.errors import KeyConfigError, OpenError, UnknownKeyError
from wagate.crypto.keys import load_key_ring, new_key_line, parse_keys

OLD = "old:" + base64.b64encode(b"o" * 32).decode()
NEW = "new:" + base64.b64encode(b"n" * 32).decode()


def test_a_sealed_text_opens_to_itself_and_shows_nothing_of_it() -> None:
    ring = parse_keys(NEW)
    value = sealing.seal(ring, "Привет, is my order ready?", "messages.content")
    assert value.startswith("wgs1:new:")
    assert "order" not in value
    assert sealing.open_(ring, value, "messages.content") == "Привет, is my order ready?"
    assert sealing.seal(ring, "same", "t.c") != sealing.seal(ring, "same", "t.c")  # a fresh nonce each time


def test_sealed_bytes_round_trip() -> None:
    ring = parse_keys(NEW)
    value = sealing.seal_bytes(ring, b'{"entry": []}', "inbound_events.body")
    assert value.startswith(b"wgs1:new:") and b"entry" not in value
    assert sealing.open_bytes(ring, value, "inbound_events.body") == b'{"entry": []}'
    assert sealing.key_id_of(value) == "new"


def test_a_value_in_clear_is_read_as_it_is() -> None:
    ring = parse_keys(NEW)
    assert sealing.open_(ring, '{"body": "hi"}', "messages.content") == '{"body": "hi"}'
    assert sealing.open_bytes(ring, b"{}", "inbound_events.body") == b"{}"
    assert sealing.key_id_of("plain") is None


def test_an_altered_value_does_not_open() -> None:
    ring = parse_keys(NEW)
    value = sealing.seal(ring, "secret", "webhook_subscriptions.secret")
    raw = bytearray(base64.b64decode(value.split(":", 2)[2]))
    raw[-1] ^= 1
    altered = "wgs1:new:" + base64.b64encode(bytes(raw)).decode()
    with pytest.raises(OpenError, match="'new'"):
        sealing.open_(ring, altered, "webhook_subscriptions.secret")
    with pytest.raises(OpenError):
        sealing.open_(ring, "wgs1:new:not base64!", "webhook_subscriptions.secret")


def test_a_value_copied_to_another_column_does_not_open() -> None:
    ring = parse_keys(NEW)
    value = sealing.seal(ring, "token", "business_accounts.access_token")
    with pytest.raises(OpenError):
        sealing.open_(ring, value, "webhook_subscriptions.secret")


def test_a_wrong_key_names_the_key() -> None:
    value = sealing.seal(parse_keys(NEW), "secret", "t.c")
    wrong = parse_keys("new:" + base64.b64encode(b"x" * 32).decode())
    with pytest.raises(OpenError, match="the configured key 'new' is wrong"):
        sealing.open_(wrong, value, "t.c")


def test_an_unknown_key_id_is_named() -> None:
    value = sealing.seal(parse_keys(OLD), "secret", "t.c")
    with pytest.raises(UnknownKeyError, match="'old' is not configured") as raised:
        sealing.open_(parse_keys(NEW), value, "t.c")
    assert raised.value.key_id == "old"


def test_the_ring_seals_with_the_first_key_and_opens_with_every_key() -> None:
    before = sealing.seal(parse_keys(OLD), "old value", "t.c")
    ring = parse_keys(f"{NEW}, {OLD}")
    assert ring.current.id == "new" and ring.ids == ["new", "old"]
    assert sealing.open_(ring, before, "t.c") == "old value"
    assert sealing.key_id_of(sealing.seal(ring, "new value", "t.c")) == "new"


@pytest.mark.parametrize(
    ("setting", "error"),
    [
        ("", "empty"),
        ("nokey", "id:base64key"),
        ("bad id:" + base64.b64encode(b"k" * 32).decode(), "id:base64key"),
        ("k1:%%%", "not valid base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "has 5 bytes; it needs 32"),
        (f"{NEW},{NEW}", "listed twice"),
    ],
)
def test_bad_settings_are_refused_clearly(setting: str, error: str) -> None:
    with pytest.raises(KeyConfigError, match=error):
        parse_keys(setting)


def test_a_generated_key_line_is_a_valid_setting() -> None:
    line = new_key_line("k2")
    assert parse_keys(line).current.id == "k2"
    assert parse_keys(new_key_line()).current.id.startswith("k")
    with pytest.raises(KeyConfigError):
        new_key_line("no spaces")


def test_sqlite_without_a_setting_creates_a_private_keys_file_once(tmp_path: Path) -> None:
    ring, created = load_key_ring("", tmp_path / "home", on_sqlite=True)
    assert created == tmp_path / "home" / "keys"
    assert stat.S_IMODE(created.stat().st_mode) == 0o600
    again, created_again = load_key_ring("", tmp_path / "home", on_sqlite=True)
    assert created_again is None and again.current == ring.current


def test_postgresql_without_a_setting_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigError, match="every wagate process needs the same"):
        load_key_ring("", tmp_path, on_sqlite=False)
    assert not (tmp_path / "keys").exists()


def test_the_setting_wins_over_the_keys_file(tmp_path: Path) -> None:
    load_key_ring("", tmp_path, on_sqlite=True)
    ring, created = load_key_ring(NEW, tmp_path, on_sqlite=True)
    assert ring.current.id == "new" and created is None


def test_the_blind_index_finds_words_and_word_starts_in_any_case() -> None:
    ring = parse_keys(NEW)
    index = blind_index.index_of(ring, ["Anna Straße", "Москва"])
    assert "anna" not in index.casefold() and "москва" not in index

    def found(query: str) -> bool:
        return all(any(t in index for t in tokens) for tokens in blind_index.query_tokens(ring, query))

    assert found("anna") and found("ANN") and found("strasse") and found("моск") and found("anna москва")
    assert not found("nna") and not found("an") and not found("anna berlin")


def test_the_blind_index_is_per_key_and_the_query_tries_every_key() -> None:
    old_index = blind_index.index_of(parse_keys(OLD), ["Anna"])
    new_index = blind_index.index_of(parse_keys(NEW), ["Anna"])
    assert set(old_index.split()).isdisjoint(new_index.split())
    tokens = blind_index.query_tokens(parse_keys(f"{NEW},{OLD}"), "anna")
    assert any(t in old_index for t in tokens[0]) and any(t in new_index for t in tokens[0])
