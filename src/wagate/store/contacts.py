"""Contacts: the people an organization talks to, their attributes and tags, search, and erasure."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, func, insert, or_, select, update

from wagate.store.db import Job
from wagate.store.schema import (
    contacts,
    conversations,
    erasures,
    media,
    message_statuses,
    messages,
    outbox,
    phone_numbers,
    service_windows,
)

Scalar = str | int | float | bool
MAX_ATTRIBUTES = 50
MAX_TAGS = 50
_MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
_CHUNK = 500


def search_text_of(name: str | None, wa_id: str, attributes: Mapping[str, Scalar]) -> str:
    """What search matches against: casefolded here because SQLite folds ASCII only."""
    parts = [name or "", wa_id]
    for value in attributes.values():
        parts.append(json.dumps(value) if isinstance(value, bool) else str(value))
    return "\n".join(part.casefold() for part in parts)


def merge_attributes(current: Mapping[str, Scalar], change: Mapping[str, Scalar | None]) -> dict[str, Scalar]:
    """`change` merged into `current`; a key set to None is removed."""
    merged = dict(current)
    for key, value in change.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def merge_tags(current: Sequence[str], add: Sequence[str], remove: Sequence[str]) -> list[str]:
    gone = set(remove)
    return [tag for tag in dict.fromkeys([*current, *add]) if tag not in gone]


def _contains(conn: Connection, column: Any, needle: str) -> ColumnElement[bool]:
    """Case-sensitive substring test (SQLite's LIKE folds ASCII case; tags are exact)."""
    if conn.dialect.name == "sqlite":
        return func.instr(column, needle) > 0
    return func.strpos(column, needle) > 0


def load_contact(conn: Connection, org_id: int, contact_id: int) -> dict[str, Any] | None:
    row = (
        conn.execute(select(contacts).where(contacts.c.org_id == org_id, contacts.c.id == contact_id))
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def list_contacts(
    conn: Connection,
    org_id: int,
    *,
    query: str | None,
    digits: str | None,
    tag: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """Contacts, newest first; `query` is casefolded, `digits` a part of a wa_id."""
    stmt = select(contacts).where(contacts.c.org_id == org_id)
    if query is not None:
        matches: list[ColumnElement[bool]] = [
            contacts.c.search_text.contains(query, autoescape=True),
            # Contacts ingest wrote or renamed since: their profile name as the database folds it.
            func.lower(contacts.c.profile_name).contains(query, autoescape=True),
            contacts.c.wa_id.contains(query, autoescape=True),
        ]
        if digits:
            matches.append(contacts.c.wa_id.contains(digits, autoescape=True))
        stmt = stmt.where(or_(*matches))
    if tag is not None:
        stmt = stmt.where(_contains(conn, contacts.c.tags, json.dumps(tag, ensure_ascii=False)))
    stmt = stmt.order_by(contacts.c.id.desc()).limit(limit).offset(offset)
    return [dict(row) for row in conn.execute(stmt).mappings()]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(slots=True)
class CreateContact(Job[dict[str, Any] | None]):
    """Returns the new contact, or None if the organization has one with this wa_id."""

    org_id: int
    wa_id: str
    name: str | None
    attributes: dict[str, Scalar]
    tags: list[str]
    now: float

    def run(self, conn: Connection) -> dict[str, Any] | None:
        exists = conn.execute(
            select(contacts.c.id).where(contacts.c.org_id == self.org_id, contacts.c.wa_id == self.wa_id)
        ).first()
        if exists is not None:
            return None
        contact_id = conn.execute(
            insert(contacts)
            .values(
                org_id=self.org_id,
                wa_id=self.wa_id,
                profile_name=self.name,
                attributes=_dumps(self.attributes),
                tags=_dumps(self.tags),
                search_text=search_text_of(self.name, self.wa_id, self.attributes),
                created_at=self.now,
                updated_at=self.now,
            )
            .returning(contacts.c.id)
        ).scalar_one()
        return load_contact(conn, self.org_id, int(contact_id))


@dataclass(slots=True)
class ChangeContact(Job[dict[str, Any] | str | None]):
    """Merges a change into a contact, read and written in one transaction.

    Returns the contact, None if there is none, or "too_many_attributes" / "too_many_tags" (nothing
    written) when the merged contact would pass the limits.
    """

    org_id: int
    contact_id: int
    now: float
    name: str | None = None
    set_name: bool = False
    attributes: dict[str, Scalar | None] = field(default_factory=dict)
    tags: list[str] | None = None
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)

    def run(self, conn: Connection) -> dict[str, Any] | str | None:
        row = load_contact(conn, self.org_id, self.contact_id)
        if row is None:
            return None
        attributes = merge_attributes(json.loads(row["attributes"]), self.attributes)
        if len(attributes) > MAX_ATTRIBUTES:
            return "too_many_attributes"
        base = self.tags if self.tags is not None else json.loads(row["tags"])
        tags = merge_tags(base, self.add_tags, self.remove_tags)
        if len(tags) > MAX_TAGS:
            return "too_many_tags"
        name = self.name if self.set_name else row["profile_name"]
        conn.execute(
            update(contacts)
            .where(contacts.c.org_id == self.org_id, contacts.c.id == self.contact_id)
            .values(
                profile_name=name,
                attributes=_dumps(attributes),
                tags=_dumps(tags),
                search_text=search_text_of(name, row["wa_id"], attributes),
                updated_at=self.now,
            )
        )
        return load_contact(conn, self.org_id, self.contact_id)


def _media_ids(content: str) -> set[int]:
    """Media a message carries by id (inbound media is recorded under wagate's id)."""
    try:
        body = json.loads(content)
    except ValueError:
        return set()
    found: set[int] = set()
    if isinstance(body, dict):
        for kind in _MEDIA_KINDS:
            item = body.get(kind)
            if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"].isdigit():
                found.add(int(item["id"]))
    return found


@dataclass(slots=True)
class EraseContact(Job[dict[str, int] | None]):
    """Erases a contact and what the organization holds about it, keeping consent decisions.

    `contact_preferences` and the consent ledger (`consents`) stay: they are the proof of what the
    customer decided. Returns the counts of rows removed, or None if there is no such contact.
    """

    org_id: int
    contact_id: int
    now: float

    def run(self, conn: Connection) -> dict[str, int] | None:
        row = load_contact(conn, self.org_id, self.contact_id)
        if row is None:
            return None
        wa_id = row["wa_id"]
        found = conn.execute(
            select(messages.c.id, messages.c.content).where(
                messages.c.org_id == self.org_id, messages.c.wa_id == wa_id
            )
        ).all()
        message_ids = [int(m.id) for m in found]
        media_ids: set[int] = set()
        for m in found:
            media_ids |= _media_ids(m.content)
        counts = {"messages": 0, "statuses": 0, "service_windows": 0, "conversations": 0, "media": 0}
        for start in range(0, len(message_ids), _CHUNK):
            chunk = message_ids[start : start + _CHUNK]
            counts["statuses"] += conn.execute(
                delete(message_statuses).where(message_statuses.c.message_id.in_(chunk))
            ).rowcount
            conn.execute(delete(outbox).where(outbox.c.message_id.in_(chunk)))
        counts["messages"] = conn.execute(
            delete(messages).where(messages.c.org_id == self.org_id, messages.c.wa_id == wa_id)
        ).rowcount
        numbers = select(phone_numbers.c.id).where(phone_numbers.c.org_id == self.org_id)
        counts["service_windows"] = conn.execute(
            delete(service_windows).where(
                service_windows.c.phone_number_id.in_(numbers), service_windows.c.wa_id == wa_id
            )
        ).rowcount
        counts["conversations"] = conn.execute(
            delete(conversations).where(conversations.c.org_id == self.org_id, conversations.c.wa_id == wa_id)
        ).rowcount
        media_list = sorted(media_ids)
        for start in range(0, len(media_list), _CHUNK):
            counts["media"] += conn.execute(
                update(media)
                .where(
                    and_(
                        media.c.org_id == self.org_id,
                        media.c.id.in_(media_list[start : start + _CHUNK]),
                        media.c.deleted_at.is_(None),
                    )
                )
                .values(deleted_at=self.now)
            ).rowcount
        conn.execute(
            delete(contacts).where(contacts.c.org_id == self.org_id, contacts.c.id == self.contact_id)
        )
        conn.execute(
            insert(erasures).values(
                org_id=self.org_id, wa_id=wa_id, erased_at=self.now, counts=_dumps(counts)
            )
        )
        return counts
