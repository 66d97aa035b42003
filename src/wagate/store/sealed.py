"""Sealing where the store touches the columns: the key ring a connection carries, and the columns
whose values are sealed (docs/decisions/0008-encryption-at-rest.md).

The associated data of a sealed value is its column's `table.column`, so a value moved to another
column does not open.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Connection, LargeBinary

from wagate.crypto import sealing
from wagate.crypto.errors import KeyConfigError
from wagate.crypto.keys import KeyRing
from wagate.store.schema import (
    business_accounts,
    consents,
    contacts,
    events,
    inbound_events,
    messages,
    operators,
    webhook_subscriptions,
)

# Every column that holds sealed values, text or bytes: what `wagate keys rotate` and
# `wagate keys status` walk.
SEALED_COLUMNS: tuple[Column[Any], ...] = (
    messages.c.content,
    events.c.payload,
    events.c.meta_value,
    inbound_events.c.body,
    business_accounts.c.access_token,
    business_accounts.c.app_secret,
    operators.c.totp_secret,
    webhook_subscriptions.c.secret,
    webhook_subscriptions.c.verify_token,
    contacts.c.profile_name,
    contacts.c.attributes,
    consents.c.proof,
)


def where_of(column: Column[Any]) -> str:
    return f"{column.table.name}.{column.name}"


def is_binary(column: Column[Any]) -> bool:
    return isinstance(column.type, LargeBinary)


def keys_of(conn: Connection) -> KeyRing:
    keys = conn.get_execution_options().get("wagate_keys")
    if keys is None:
        raise KeyConfigError("this database was opened without encryption keys (WAGATE_ENCRYPTION_KEYS)")
    assert isinstance(keys, KeyRing)
    return keys


def seal(conn: Connection, column: Column[Any], value: str) -> str:
    return sealing.seal(keys_of(conn), value, where_of(column))


def seal_opt(conn: Connection, column: Column[Any], value: str | None) -> str | None:
    return None if value is None else seal(conn, column, value)


def open_(conn: Connection, column: Column[Any], value: str) -> str:
    if not value.startswith(sealing.PREFIX):
        return value  # written before encryption; sealed by `wagate keys rotate`
    return sealing.open_(keys_of(conn), value, where_of(column))


def open_opt(conn: Connection, column: Column[Any], value: str | None) -> str | None:
    return None if value is None else open_(conn, column, value)


def seal_bytes(conn: Connection, column: Column[Any], value: bytes) -> bytes:
    return sealing.seal_bytes(keys_of(conn), value, where_of(column))


def open_bytes(conn: Connection, column: Column[Any], value: bytes) -> bytes:
    return sealing.open_bytes(keys_of(conn), bytes(value), where_of(column))
