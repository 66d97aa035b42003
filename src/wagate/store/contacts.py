"""Contacts: the people an organization talks to, their attributes and tags, search, and erasure."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, func, insert, or_, select, update

from wagate.crypto import blind_index
from wagate.store import sealed
from wagate.store.db import Job
from wagate.store.schema import (
    contacts,
    conversations,
    erasures,
    events,
    media,
    message_statuses,
    messages,
    outbox,
    phone_numbers,
    service_windows,
    webhook_deliveries,
)

Scalar = str | int | float | bool
MAX_ATTRIBUTES = 50
MAX_TAGS = 50
_MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
_CHUNK = 500


def search_text_of(conn: Connection, name: str | None, wa_id: str, attributes: Mapping[str, Scalar]) -> str:
    """What search matches against: the blind index of the name, wa_id and attribute values (the
    values themselves are sealed; see wagate.crypto.blind_index)."""
    parts = [name or "", wa_id]
    for value in attributes.values():
        parts.append(json.dumps(value) if isinstance(value, bool) else str(value))
    return blind_index.index_of(sealed.keys_of(conn), parts)


def name_index_of(conn: Connection, name: str | None) -> str | None:
    """The blind index of a profile name alone, as ingest writes it (it does not read the attributes)."""
    return None if name is None else blind_index.index_of(sealed.keys_of(conn), [name])


def _opened(conn: Connection, row: Any) -> dict[str, Any]:
    contact = dict(row)
    contact["profile_name"] = sealed.open_opt(conn, contacts.c.profile_name, contact["profile_name"])
    contact["attributes"] = sealed.open_(conn, contacts.c.attributes, contact["attributes"])
    return contact


def _sealed_values(conn: Connection, name: str | None, attributes: Mapping[str, Scalar]) -> dict[str, Any]:
    return {
        "profile_name": sealed.seal_opt(conn, contacts.c.profile_name, name),
        "attributes": sealed.seal(conn, contacts.c.attributes, _dumps(attributes)),
        "name_index": None,
    }


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
    return None if row is None else _opened(conn, row)


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
    """Contacts, newest first; `query` matches words (or their starts) of the name and attribute
    values, or a part of the wa_id; `digits` a part of a wa_id."""
    stmt = select(contacts).where(contacts.c.org_id == org_id)
    if query is not None:
        matches: list[ColumnElement[bool]] = [contacts.c.wa_id.contains(query, autoescape=True)]
        words = blind_index.query_tokens(sealed.keys_of(conn), query)
        if words:
            # Every word of the query, under any key of the ring; a contact ingest wrote or renamed
            # since has its name's tokens in `name_index`.
            matches.append(
                and_(
                    *(
                        or_(
                            *(contacts.c.search_text.contains(token) for token in tokens),
                            *(contacts.c.name_index.contains(token) for token in tokens),
                        )
                        for tokens in words
                    )
                )
            )
        if digits:
            matches.append(contacts.c.wa_id.contains(digits, autoescape=True))
        stmt = stmt.where(or_(*matches))
    if tag is not None:
        stmt = stmt.where(_contains(conn, contacts.c.tags, json.dumps(tag, ensure_ascii=False)))
    stmt = stmt.order_by(contacts.c.id.desc()).limit(limit).offset(offset)
    return [_opened(conn, row) for row in conn.execute(stmt).mappings()]


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
                **_sealed_values(conn, self.name, self.attributes),
                tags=_dumps(self.tags),
                search_text=search_text_of(conn, self.name, self.wa_id, self.attributes),
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
                **_sealed_values(conn, name, attributes),
                tags=_dumps(tags),
                search_text=search_text_of(conn, name, row["wa_id"], attributes),
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


@dataclass(frozen=True, slots=True)
class Erased:
    counts: dict[str, int]
    storage_keys: list[str]  # files of the erased media, to delete after the commit ("" for none)


@dataclass(slots=True)
class EraseContact(Job[Erased | None]):
    """Erases a contact and what the organization holds about it, keeping consent decisions.

    `contact_preferences` and the consent ledger (`consents`) stay: they are the proof of what the
    customer decided. Events that name the contact go with their webhook deliveries, pending or not.
    Returns the counts of rows removed and the media files to delete, or None if there is no such contact.
    """

    org_id: int
    contact_id: int
    now: float

    def run(self, conn: Connection) -> Erased | None:
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
            media_ids |= _media_ids(sealed.open_(conn, messages.c.content, m.content))
        counts = {
            "messages": 0,
            "statuses": 0,
            "service_windows": 0,
            "conversations": 0,
            "media": 0,
            "events": 0,
            "deliveries": 0,
        }
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
        event_ids = _events_naming(conn, self.org_id, wa_id)
        for start in range(0, len(event_ids), _CHUNK):
            chunk = event_ids[start : start + _CHUNK]
            counts["deliveries"] += conn.execute(
                delete(webhook_deliveries).where(webhook_deliveries.c.event_id.in_(chunk))
            ).rowcount
            counts["events"] += conn.execute(delete(events).where(events.c.id.in_(chunk))).rowcount
        media_list = sorted(media_ids)
        storage_keys: list[str] = []
        for start in range(0, len(media_list), _CHUNK):
            alive = and_(
                media.c.org_id == self.org_id,
                media.c.id.in_(media_list[start : start + _CHUNK]),
                media.c.deleted_at.is_(None),
            )
            storage_keys += [str(k) for k in conn.execute(select(media.c.storage_key).where(alive)).scalars()]
            counts["media"] += conn.execute(update(media).where(alive).values(deleted_at=self.now)).rowcount
        conn.execute(
            delete(contacts).where(contacts.c.org_id == self.org_id, contacts.c.id == self.contact_id)
        )
        conn.execute(
            insert(erasures).values(
                org_id=self.org_id, wa_id=wa_id, erased_at=self.now, counts=_dumps(counts)
            )
        )
        return Erased(counts, storage_keys)


def _events_naming(conn: Connection, org_id: int, wa_id: str) -> list[int]:
    """The organization's events whose payload or Meta value names `wa_id` (as a JSON string): the
    payloads are sealed, so each is opened here, a page at a time."""
    needle = json.dumps(wa_id)
    found: list[int] = []
    after = 0
    while True:
        page = conn.execute(
            select(events.c.id, events.c.payload, events.c.meta_value)
            .where(events.c.org_id == org_id, events.c.id > after)
            .order_by(events.c.id)
            .limit(_CHUNK)
        ).all()
        for e in page:
            text = sealed.open_(conn, events.c.payload, e.payload)
            value = sealed.open_opt(conn, events.c.meta_value, e.meta_value) or ""
            if needle in text or needle in value:
                found.append(int(e.id))
        if len(page) < _CHUNK:
            return found
        after = int(page[-1].id)
