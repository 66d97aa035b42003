"""Applying inbound messages: the message once, and what it decides (`domain/inbound.py`): contact,
24-hour window, thread, a `message.received` event, the consent a keyword carries."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import Connection, bindparam, select, update

from wagate.domain import inbound as inbound_rules
from wagate.domain.conversations import State, Thread, customer_wrote
from wagate.domain.inbound import InboundDecision
from wagate.domain.tenancy import PhoneNumber
from wagate.ids import new_wamid
from wagate.store import sealed
from wagate.store.contacts import name_index_of
from wagate.store.events import NewEvent, record_events
from wagate.store.ingest_consent import KeywordCandidate, apply_keywords
from wagate.store.media import record_inbound_media
from wagate.store.message_search import index_of_message
from wagate.store.schema import contacts, conversations, messages, service_windows
from wagate.store.sql import insert_rows, many, upsert
from wagate.store.tenancy import numbers_by_id

log = logging.getLogger(__name__)
_encoder = msgspec.json.Encoder()

_STORED = select(messages.c.phone_number_id, messages.c.upstream_id).where(
    messages.c.phone_number_id.in_(many("numbers")), messages.c.upstream_id.in_(many("upstream_ids"))
)
_BUSINESS_IDS = select(messages.c.phone_number_id, messages.c.upstream_id, messages.c.wamid).where(
    messages.c.phone_number_id.in_(many("numbers")), messages.c.upstream_id.in_(many("upstream_ids"))
)
_THREADS = select(
    conversations.c.id,
    conversations.c.phone_number_id,
    conversations.c.wa_id,
    conversations.c.state,
    conversations.c.waiting_since,
).where(conversations.c.phone_number_id.in_(many("numbers")), conversations.c.wa_id.in_(many("wa_ids")))


@dataclass(frozen=True, slots=True)
class Inbound:
    number_id: int
    message: dict[str, Any]
    contact: dict[str, Any] | None


def apply_inbound(conn: Connection, inbound: list[Inbound], now: float) -> int:
    """Store new inbound messages (a repeat changes nothing) and write what each decides
    (`domain/inbound.py`): the contact, the window, the thread, a `message.received` event, and the
    consent a keyword carries. Returns how many were new."""
    if not inbound:
        return 0
    numbers = numbers_by_id(conn, {i.number_id for i in inbound})
    fresh = _fresh(conn, inbound, numbers)
    if not fresh:
        return 0
    translated = _business_ids(conn, fresh)
    contact_rows: dict[tuple[int, str], dict[str, Any]] = {}
    windows: dict[tuple[int, str], float] = {}
    threads: dict[tuple[int, str], tuple[int, float, bool]] = {}
    rows, new_events = [], []
    keyword_candidates: list[KeywordCandidate] = []
    for item in fresh:
        number = numbers[item.number_id]
        decision = inbound_rules.decide(item.message, item.contact, now, translated.get(number.id, _NOTHING))
        contact, at, wa_id = decision.contact, decision.at, decision.contact.wa_id
        contact_rows[(number.org_id, wa_id)] = {
            "org_id": number.org_id,
            "wa_id": wa_id,
            "profile_name": sealed.seal_opt(conn, contacts.c.profile_name, contact.profile_name),
            "name_index": name_index_of(conn, contact.profile_name),
            # Only a new contact takes it (the upsert leaves a known contact's attributes alone).
            "attributes": sealed.seal(conn, contacts.c.attributes, "{}"),
            "user_id": contact.user_id,
            "created_at": now,
            "updated_at": now,
        }
        if decision.conversational:
            windows[(number.id, wa_id)] = max(at, windows.get((number.id, wa_id), 0.0))
        previous = threads.get((number.id, wa_id))
        threads[(number.id, wa_id)] = (
            number.org_id,
            max(at, previous[1] if previous else 0.0),
            decision.conversational or (previous[2] if previous else False),
        )
        as_business_sees = decision.as_business_sees
        _keep_media(conn, number, decision, now)
        wamid = new_wamid(b"WI")
        as_business_sees["id"] = wamid
        rows.append(
            {
                "wamid": wamid,
                "org_id": number.org_id,
                "phone_number_id": number.id,
                "direction": "in",
                "wa_id": wa_id,
                "recipient_input": None,
                "type": decision.kind[:24],
                "content": sealed.seal(conn, messages.c.content, _encoder.encode(as_business_sees).decode()),
                "search_index": index_of_message(conn, "in", decision.kind, as_business_sees, None),
                "status": "received",
                "priority": None,
                "category": None,
                "template_name": None,
                "callback_data": None,
                "context_wamid": decision.context_wamid,
                "upstream_id": item.message["id"],
                "created_at": at,
                "updated_at": now,
            }
        )
        payload, value = inbound_rules.received_event(number, decision, as_business_sees)
        new_events.append(
            NewEvent(
                number.org_id, "message.received", payload, now, number.id, number.waba_id, "messages", value
            )
        )
        if decision.keyword is not None:
            keyword_candidates.append(KeywordCandidate(number, wamid, decision))
    conn.execute(
        upsert(conn, contacts, ["org_id", "wa_id"], ["profile_name", "name_index", "updated_at"]),
        [r for r in contact_rows.values()],
    )
    with_user_ids = [r for r in contact_rows.values() if r["user_id"]]
    if with_user_ids:
        conn.execute(upsert(conn, contacts, ["org_id", "wa_id"], ["user_id", "updated_at"]), with_user_ids)
    if windows:
        conn.execute(
            upsert(conn, service_windows, ["phone_number_id", "wa_id"], ["last_inbound_at"]),
            [{"phone_number_id": n, "wa_id": w, "last_inbound_at": at} for (n, w), at in windows.items()],
        )
    insert_rows(conn, messages, rows)
    _touch_conversations(conn, threads, now)
    record_events(conn, new_events)
    apply_keywords(conn, keyword_candidates, now)
    return len(rows)


_NOTHING: dict[str, str] = {}


def _fresh(conn: Connection, inbound: list[Inbound], numbers: dict[int, PhoneNumber]) -> list[Inbound]:
    """The inbound messages not stored before (nor earlier in this batch), for known numbers."""
    valid = []
    for item in inbound:
        if item.number_id not in numbers:
            log.warning("ingest: kept a message for unknown number %s in the raw event only", item.number_id)
        elif not inbound_rules.is_complete(item.message):
            log.warning("ingest: kept a message without sender or id in the raw event only")
        else:
            valid.append(item)
    if not valid:
        return []
    keys = {(i.number_id, i.message["id"]) for i in valid}
    stored = {
        (r.phone_number_id, r.upstream_id)
        for r in conn.execute(
            _STORED, {"numbers": list({n for n, _ in keys}), "upstream_ids": list({u for _, u in keys})}
        )
    }
    fresh = []
    for item in valid:
        key = (item.number_id, item.message["id"])
        if key not in stored:
            stored.add(key)
            fresh.append(item)
    return fresh


def _business_ids(conn: Connection, inbound: list[Inbound]) -> dict[int, dict[str, str]]:
    """wagate's ids of the business's messages that inbound messages point at (replies, reactions),
    by number and upstream id."""
    wanted: set[str] = set()
    for item in inbound:
        wanted |= inbound_rules.referenced_ids(item.message)
    if not wanted:
        return {}
    rows = conn.execute(
        _BUSINESS_IDS, {"numbers": list({i.number_id for i in inbound}), "upstream_ids": list(wanted)}
    )
    found: dict[int, dict[str, str]] = {}
    for row in rows:
        found.setdefault(row.phone_number_id, {})[row.upstream_id] = row.wamid
    return found


def _keep_media(conn: Connection, number: PhoneNumber, decision: InboundDecision, now: float) -> None:
    """Media a customer sent gets a wagate media id (downloaded by the media worker); the message the
    business sees names that id, fetched through wagate's `GET /{media_id}`."""
    media = decision.media
    if media is None:
        return
    media_id = record_inbound_media(
        conn,
        number.org_id,
        number.id,
        media["id"],
        str(media.get("mime_type") or "application/octet-stream"),
        str(media.get("sha256") or ""),
        now,
        filename=media.get("filename"),
    )
    kept = {k: v for k, v in media.items() if k != "url"} | {"id": str(media_id)}
    decision.as_business_sees[decision.kind] = kept


def _touch_conversations(
    conn: Connection, threads: dict[tuple[int, str], tuple[int, float, bool]], now: float
) -> None:
    """Open or extend each thread; a customer writing to a new or resolved one puts it in the queue."""
    existing = {
        (r.phone_number_id, r.wa_id): r
        for r in conn.execute(
            _THREADS, {"numbers": list({n for n, _ in threads}), "wa_ids": list({w for _, w in threads})}
        )
    }
    inserts, updates = [], []
    for (number_id, wa_id), (org_id, at, asks) in threads.items():
        row = existing.get((number_id, wa_id))
        before = None if row is None else Thread(State(row.state), row.waiting_since)
        after = customer_wrote(before, at, asks)
        if row is None:
            inserts.append(
                {
                    "org_id": org_id,
                    "phone_number_id": number_id,
                    "wa_id": wa_id,
                    "state": after.state.value,
                    "assignee": None,
                    "waiting_since": after.waiting_since,
                    "last_message_at": at,
                    "last_inbound_at": at,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            continue
        updates.append(
            {
                "b_id": row.id,
                "b_state": after.state.value,
                "b_waiting": after.waiting_since,
                "b_at": at,
                "b_now": now,
            }
        )
    if inserts:
        conn.execute(conversations.insert(), inserts)
    if updates:
        conn.execute(
            update(conversations)
            .where(conversations.c.id == bindparam("b_id"))
            .values(
                state=bindparam("b_state"),
                waiting_since=bindparam("b_waiting"),
                last_message_at=bindparam("b_at"),
                last_inbound_at=bindparam("b_at"),
                updated_at=bindparam("b_now"),
            ),
            updates,
        )
