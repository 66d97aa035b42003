"""Applying inbound messages: contact, 24-hour window, conversation, the message once, an event."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import Connection, bindparam, select, update

from wagate.domain.consent import keyword_texts
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
from wagate.store.status_events import metadata
from wagate.store.tenancy import numbers_by_id

log = logging.getLogger(__name__)
_encoder = msgspec.json.Encoder()

# An inbound message that is not from a person opens no window and asks nobody for an answer.
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
_NOT_CONVERSATIONAL = frozenset({"system", "unsupported", "unknown", "reaction"})


@dataclass(frozen=True, slots=True)
class Inbound:
    number_id: int
    message: dict[str, Any]
    contact: dict[str, Any] | None


def apply_inbound(conn: Connection, inbound: list[Inbound], now: float) -> int:
    """Store new inbound messages (a repeat changes nothing) and record `message.received` events;
    keyword messages change the contact's marketing consent. Returns how many were new."""
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
        message = item.message
        wa_id = str(message["from"])
        at = _message_time(message, now)
        profile = (item.contact or {}).get("profile") or {}
        user_id = (item.contact or {}).get("user_id") or message.get("from_user_id")
        contact_rows[(number.org_id, wa_id)] = {
            "org_id": number.org_id,
            "wa_id": wa_id,
            "profile_name": sealed.seal_opt(conn, contacts.c.profile_name, profile.get("name")),
            "name_index": name_index_of(conn, profile.get("name")),
            "user_id": user_id,
            "created_at": now,
            "updated_at": now,
        }
        kind = str(message.get("type", "unknown"))
        conversational = kind not in _NOT_CONVERSATIONAL
        if conversational:
            windows[(number.id, wa_id)] = max(at, windows.get((number.id, wa_id), 0.0))
        previous = threads.get((number.id, wa_id))
        threads[(number.id, wa_id)] = (
            number.org_id,
            max(at, previous[1] if previous else 0.0),
            conversational or (previous[2] if previous else False),
        )
        context = message.get("context")
        context_wamid = None
        if isinstance(context, dict) and isinstance(context.get("id"), str):
            context_wamid = translated.get((number.id, context["id"]))
        as_business_sees = _translate_refs(message, number.id, translated)
        _keep_media(conn, number, kind, as_business_sees, now)
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
                "type": kind[:24],
                "content": sealed.seal(conn, messages.c.content, _encoder.encode(as_business_sees).decode()),
                "search_index": index_of_message(conn, "in", kind, as_business_sees, None),
                "status": "received",
                "priority": None,
                "category": None,
                "template_name": None,
                "callback_data": None,
                "context_wamid": context_wamid,
                "upstream_id": message["id"],
                "created_at": at,
                "updated_at": now,
            }
        )
        new_events.append(
            _received_event(number, wa_id, item.contact, as_business_sees, kind, at, context_wamid, now)
        )
        texts = keyword_texts(kind, message)
        if texts is not None:
            keyword_candidates.append(KeywordCandidate(number, wa_id, wamid, at, texts, context_wamid))
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


def _fresh(conn: Connection, inbound: list[Inbound], numbers: dict[int, PhoneNumber]) -> list[Inbound]:
    """The inbound messages not stored before (nor earlier in this batch), for known numbers."""
    valid = []
    for item in inbound:
        if item.number_id not in numbers:
            log.warning("ingest: kept a message for unknown number %s in the raw event only", item.number_id)
        elif not isinstance(item.message.get("from"), str) or not isinstance(item.message.get("id"), str):
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


def _business_ids(conn: Connection, inbound: list[Inbound]) -> dict[tuple[int, str], str]:
    """wagate's ids of the business's messages that inbound messages point at (replies, reactions)."""
    wanted = set()
    for item in inbound:
        context, reaction = item.message.get("context"), item.message.get("reaction")
        if isinstance(context, dict) and isinstance(context.get("id"), str):
            wanted.add(context["id"])
        if isinstance(reaction, dict) and isinstance(reaction.get("message_id"), str):
            wanted.add(reaction["message_id"])
    if not wanted:
        return {}
    rows = conn.execute(
        _BUSINESS_IDS, {"numbers": list({i.number_id for i in inbound}), "upstream_ids": list(wanted)}
    )
    return {(row.phone_number_id, row.upstream_id): row.wamid for row in rows}


def _translate_refs(
    message: dict[str, Any], number_id: int, translated: dict[tuple[int, str], str]
) -> dict[str, Any]:
    out = dict(message)
    context = out.get("context")
    if isinstance(context, dict) and isinstance(context.get("id"), str):
        out["context"] = {**context, "id": translated.get((number_id, context["id"]), context["id"])}
    reaction = out.get("reaction")
    if isinstance(reaction, dict) and isinstance(reaction.get("message_id"), str):
        out["reaction"] = {
            **reaction,
            "message_id": translated.get((number_id, reaction["message_id"]), reaction["message_id"]),
        }
    return out


_MEDIA_KINDS = frozenset({"image", "video", "audio", "document", "sticker"})


def _keep_media(
    conn: Connection, number: PhoneNumber, kind: str, message: dict[str, Any], now: float
) -> None:
    """Media a customer sent gets a wagate media id (downloaded by the media worker); the message the
    business sees names that id, fetched through wagate's `GET /{media_id}`."""
    media = message.get(kind)
    if kind not in _MEDIA_KINDS or not isinstance(media, dict) or not isinstance(media.get("id"), str):
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
    message[kind] = {k: v for k, v in media.items() if k != "url"} | {"id": str(media_id)}


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
        if row is None:
            inserts.append(
                {
                    "org_id": org_id,
                    "phone_number_id": number_id,
                    "wa_id": wa_id,
                    "state": "pending" if asks else "open",
                    "assignee": None,
                    "waiting_since": at if asks else None,
                    "last_message_at": at,
                    "last_inbound_at": at,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            continue
        state, waiting = row.state, row.waiting_since
        if asks and state == "resolved":
            state, waiting = "pending", at
        elif asks and state == "pending" and waiting is None:
            waiting = at
        updates.append({"b_id": row.id, "b_state": state, "b_waiting": waiting, "b_at": at, "b_now": now})
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


def _received_event(
    number: PhoneNumber,
    wa_id: str,
    contact: dict[str, Any] | None,
    message: dict[str, Any],
    kind: str,
    at: float,
    context_wamid: str | None,
    now: float,
) -> NewEvent:
    profile = (contact or {}).get("profile") or {}
    user_id = (contact or {}).get("user_id")
    meta_contact: dict[str, Any] = {"profile": {"name": profile.get("name") or ""}, "wa_id": wa_id}
    if user_id:
        meta_contact["user_id"] = user_id
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": metadata(number),
        "messages": [message],
    }
    if kind != "system":
        value["contacts"] = [meta_contact]
    payload = {
        "message_id": message["id"],
        "from": wa_id,
        "contact": {"wa_id": wa_id, "profile_name": profile.get("name"), "user_id": user_id},
        "type": kind,
        "timestamp": at,
        "context_message_id": context_wamid,
        "message": message,
    }
    return NewEvent(
        number.org_id, "message.received", payload, now, number.id, number.waba_id, "messages", value
    )


def _message_time(message: dict[str, Any], now: float) -> float:
    try:
        return float(message.get("timestamp", now))
    except (TypeError, ValueError):
        return now
