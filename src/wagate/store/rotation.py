"""Key rotation: re-seal, in small batches, every value not yet under the current key.

Progress needs no bookkeeping: a value's prefix names its key, so the values left are found by
scanning for them, and a rotation stopped at any point resumes where it was. Values still in clear
(written before encryption) are sealed the same way. Each batch is one short transaction, so a
server using the same database keeps serving meanwhile; an update only replaces the value it read,
so a concurrent change of the same row is never overwritten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, ColumnElement, Connection, func, select, update

from wagate.crypto import sealing
from wagate.store import sealed
from wagate.store.contacts import search_text_of
from wagate.store.db import Job
from wagate.store.message_search import index_of_message
from wagate.store.schema import contacts, key_checks, messages

ROTATE_BATCH = 200
CLEAR = "(clear)"


def _prefix(column: Column[Any], key_id: str) -> str | bytes:
    text = f"{sealing.PREFIX}{key_id}:"
    return text.encode() if sealed.is_binary(column) else text


def _starts_with(column: Column[Any], prefix: str | bytes) -> ColumnElement[bool]:
    # substr works on text and on blobs (SQLite) / bytea (PostgreSQL) alike, where LIKE does not.
    return func.substr(column, 1, len(prefix)) == prefix


def _any_prefix(column: Column[Any]) -> str | bytes:
    return sealing.PREFIX.encode() if sealed.is_binary(column) else sealing.PREFIX


def _not_current(conn: Connection, column: Column[Any]) -> ColumnElement[bool]:
    current = sealed.keys_of(conn).current.id
    return column.is_not(None) & ~_starts_with(column, _prefix(column, current))


def held_key_ids(conn: Connection) -> list[str]:
    return [str(k) for k in conn.execute(select(key_checks.c.key_id).order_by(key_checks.c.key_id)).scalars()]


def values_by_key(conn: Connection) -> dict[str, dict[str, int]]:
    """Per sealed column (`table.column`), how many values each key id holds, and how many are clear."""
    key_ids = sorted(set(held_key_ids(conn)) | set(sealed.keys_of(conn).ids))
    report: dict[str, dict[str, int]] = {}
    for column in sealed.SEALED_COLUMNS:
        counts: dict[str, int] = {}
        for key_id in key_ids:
            n = conn.execute(
                select(func.count()).where(_starts_with(column, _prefix(column, key_id)))
            ).scalar()
            if n:
                counts[key_id] = int(n)
        clear = conn.execute(
            select(func.count()).where(column.is_not(None), ~_starts_with(column, _any_prefix(column)))
        ).scalar()
        if clear:
            counts[CLEAR] = int(clear)
        report[sealed.where_of(column)] = counts
    return report


def _primary_key(column: Column[Any]) -> Column[Any]:
    (pk,) = column.table.primary_key.columns
    return pk


@dataclass(slots=True)
class RotateBatch(Job[int]):
    """Re-seal up to `limit` values of one column with the current key; returns how many moved."""

    where: str
    limit: int = ROTATE_BATCH

    def run(self, conn: Connection) -> int:
        column = next(c for c in sealed.SEALED_COLUMNS if sealed.where_of(c) == self.where)
        if column.table is contacts:
            return _rotate_contacts(conn, self.limit) if column is contacts.c.attributes else 0
        if column is messages.c.content:
            return _rotate_messages(conn, self.limit)
        pk = _primary_key(column)
        rows = conn.execute(select(pk, column).where(_not_current(conn, column)).limit(self.limit)).all()
        moved = 0
        for row_id, value in rows:
            if sealed.is_binary(column):
                fresh: str | bytes = sealed.seal_bytes(conn, column, sealed.open_bytes(conn, column, value))
            else:
                fresh = sealed.seal(conn, column, sealed.open_(conn, column, value))
            moved += conn.execute(
                update(column.table).where(pk == row_id, column == value).values({column.name: fresh})
            ).rowcount
        return moved


def _rotate_messages(conn: Connection, limit: int) -> int:
    """A message's content and its blind index move together: the index's tokens are per key (and a
    message written before the index existed gets one)."""
    m = messages.c
    rows = conn.execute(
        select(m.id, m.direction, m.type, m.category, m.content)
        .where(_not_current(conn, m.content))
        .limit(limit)
    ).all()
    moved = 0
    for row in rows:
        content = sealed.open_(conn, m.content, row.content)
        moved += conn.execute(
            update(messages)
            .where(m.id == row.id, m.content == row.content)
            .values(
                content=sealed.seal(conn, m.content, content),
                search_index=index_of_message(conn, row.direction, row.type, content, row.category),
            )
        ).rowcount
    return moved


def _rotate_contacts(conn: Connection, limit: int) -> int:
    """A contact moves whole: its name, its attributes and its blind index, whose tokens are per key."""
    c = contacts.c
    stale = _not_current(conn, c.attributes) | _not_current(conn, c.profile_name)
    rows = conn.execute(select(c.id, c.wa_id, c.profile_name, c.attributes).where(stale).limit(limit)).all()
    moved = 0
    for row in rows:
        name = sealed.open_opt(conn, c.profile_name, row.profile_name)
        attributes = sealed.open_(conn, c.attributes, row.attributes)
        moved += conn.execute(
            update(contacts)
            .where(c.id == row.id, c.attributes == row.attributes)
            .values(
                profile_name=sealed.seal_opt(conn, c.profile_name, name),
                attributes=sealed.seal(conn, c.attributes, attributes),
                search_text=search_text_of(conn, name, row.wa_id, json.loads(attributes)),
                name_index=None,
            )
        ).rowcount
    return moved
