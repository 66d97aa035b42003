"""The one ingest path's storage: keep every upstream event, then apply it, in the same commit.

An envelope is stored as received and processed in the transaction that stores it, so an event that
was acknowledged has had its effects, and a repeated one has none twice: inbound messages are unique
per (number, upstream id), status history per (message, status).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import Connection, delete, select, text

from wagate.cloudapi.webhooks import StatusEvent, envelope_decoder, value_decoder
from wagate.domain.lifecycle import Status, resulting_status
from wagate.ids import new_wamid
from wagate.store.db import BatchJob, Job
from wagate.store.schema import (
    contacts,
    inbound_events,
    message_statuses,
    messages,
    outbox,
    parked_statuses,
    phone_numbers,
    service_windows,
)
from wagate.store.sql import insert_ignore, upsert

log = logging.getLogger(__name__)
_encoder = msgspec.json.Encoder()


@dataclass(slots=True)
class IngestReport:
    statuses: int = 0
    statuses_parked: int = 0
    messages: int = 0
    ignored: int = 0


@dataclass(slots=True)
class _Batch:
    statuses: list[tuple[int, StatusEvent]] = field(default_factory=list)
    inbound: list[tuple[int, dict[str, Any], dict[str, Any] | None]] = field(default_factory=list)


@dataclass(slots=True)
class IngestEnvelope(BatchJob[IngestReport]):
    body: bytes
    source: str
    received_at: float

    @classmethod
    def run_batch(cls, conn: Connection, jobs: Sequence[Job[Any]]) -> list[Any]:
        envelopes = [job for job in jobs if isinstance(job, IngestEnvelope)]
        conn.execute(
            inbound_events.insert(),
            [
                {
                    "source": e.source,
                    "received_at": e.received_at,
                    "body": e.body,
                    "processed_at": e.received_at,
                }
                for e in envelopes
            ],
        )
        reports = []
        batch = _Batch()
        for envelope in envelopes:
            report = IngestReport()
            _collect(envelope.body, batch, report)
            reports.append(report)
        now = envelopes[0].received_at
        parked = apply_statuses(conn, batch.statuses, now)
        apply_inbound(conn, batch.inbound, now)
        if parked:
            reports[0].statuses_parked = parked
        return reports


def _collect(body: bytes, batch: _Batch, report: IngestReport) -> None:
    try:
        envelope = envelope_decoder.decode(body)
    except msgspec.DecodeError as exc:
        log.warning("ingest: kept an event that is not a webhook envelope: %s", exc)
        report.ignored += 1
        return
    for entry in envelope.entry:
        for change in entry.changes:
            if change.field != "messages":
                # Other fields (templates, account, quality) are kept as received; later work applies them.
                report.ignored += 1
                continue
            try:
                value = value_decoder.decode(change.value)
            except msgspec.DecodeError as exc:
                log.warning("ingest: kept a change whose value does not parse: %s", exc)
                report.ignored += 1
                continue
            number_id = _number_id(value.metadata.phone_number_id if value.metadata else "")
            if number_id is None:
                report.ignored += 1
                continue
            for status in value.statuses or ():
                batch.statuses.append((number_id, status))
                report.statuses += 1
            profiles = {c.get("wa_id"): c for c in value.contacts or ()}
            for message in value.messages or ():
                batch.inbound.append((number_id, message, profiles.get(message.get("from"))))
                report.messages += 1


def _number_id(raw: str) -> int | None:
    try:
        return int(raw)
    except ValueError:
        return None


# -- statuses ---------------------------------------------------------------------------------------
def apply_statuses(conn: Connection, statuses: list[tuple[int, StatusEvent]], now: float) -> int:
    """Apply statuses to their messages; park those whose message is unknown. Returns how many parked."""
    if not statuses:
        return 0
    callbacks = {s.biz_opaque_callback_data for _, s in statuses if s.biz_opaque_callback_data}
    found: dict[str, Any] = {}
    if callbacks:
        for row in conn.execute(
            select(
                messages.c.id,
                messages.c.wamid,
                messages.c.status,
                messages.c.phone_number_id,
                messages.c.upstream_id,
            ).where(messages.c.wamid.in_(list(callbacks)), messages.c.direction == "out")
        ):
            found[row.wamid] = row
    by_upstream: dict[tuple[int, str], Any] = {}
    unresolved = [(n, s) for n, s in statuses if _resolve(found, n, s) is None]
    if unresolved:
        for row in conn.execute(
            select(
                messages.c.id,
                messages.c.wamid,
                messages.c.status,
                messages.c.phone_number_id,
                messages.c.upstream_id,
            ).where(messages.c.upstream_id.in_(list({s.id for _, s in unresolved})))
        ):
            by_upstream[(row.phone_number_id, row.upstream_id)] = row
    per_message: dict[int, list[tuple[Status, StatusEvent]]] = {}
    rows: dict[int, Any] = {}
    history: list[dict[str, Any]] = []
    parked: list[dict[str, Any]] = []
    for number_id, event in statuses:
        target = _resolve(found, number_id, event) or by_upstream.get((number_id, event.id))
        if target is None:
            parked.append(
                {
                    "phone_number_id": number_id,
                    "upstream_id": event.id,
                    "status": _encoder.encode(event).decode(),
                    "received_at": now,
                }
            )
            continue
        status = Status.parse(event.status)
        if status is None:
            log.warning(
                "ingest: unknown status %r for %s kept in the raw event only", event.status, target.wamid
            )
            continue
        rows[target.id] = target
        per_message.setdefault(target.id, []).append((status, event))
        error = event.errors[0] if event.errors else None
        history.append(
            {
                "message_id": target.id,
                "status": status.value,
                "at": _event_time(event, now),
                "error_code": error.code if error else None,
                "error_title": error.title if error else None,
                "error_details": _details(error.error_data) if error else None,
            }
        )
    if history:
        conn.execute(insert_ignore(conn, message_statuses), history)
    updates = []
    for message_id, items in per_message.items():
        row = rows[message_id]
        current = Status.parse(row.status) or Status.ACCEPTED
        final = resulting_status(current, [s for s, _ in items])
        upstream_id = items[0][1].id
        error = next((e.errors[0] for s, e in items if s == Status.FAILED and e.errors), None)
        if final != current or row.upstream_id is None:
            updates.append(
                {
                    "message_id": message_id,
                    "status": final.value,
                    "upstream_id": upstream_id,
                    "now": now,
                    "code": error.code if error and final == Status.FAILED else None,
                    "title": error.title if error and final == Status.FAILED else None,
                    "details": _details(error.error_data) if error and final == Status.FAILED else None,
                }
            )
    if updates:
        conn.execute(
            text(
                "UPDATE messages SET status = :status, upstream_id = COALESCE(upstream_id, :upstream_id), "
                "error_code = COALESCE(:code, error_code), error_title = COALESCE(:title, error_title), "
                "error_details = COALESCE(:details, error_details), updated_at = :now WHERE id = :message_id"
            ),
            updates,
        )
    if per_message:
        # A status proves the upstream has the message: a send waiting on reconciliation is settled.
        conn.execute(delete(outbox).where(outbox.c.message_id.in_(list(per_message))))
    if parked:
        conn.execute(parked_statuses.insert(), parked)
    return len(parked)


def _resolve(found: dict[str, Any], number_id: int, event: StatusEvent) -> Any:
    if event.biz_opaque_callback_data is None:
        return None
    row = found.get(event.biz_opaque_callback_data)
    if row is None or row.phone_number_id != number_id:
        return None
    return row


def _event_time(event: StatusEvent, now: float) -> float:
    """When the status happened: the upstream's time (whole seconds) for a late event, else our receipt
    time, which keeps sub-second order between statuses that arrive as they happen."""
    try:
        stamped = float(event.timestamp)
    except ValueError:
        return now
    return stamped if stamped + 1.0 < now else now


def _details(error_data: dict[str, Any] | None) -> str | None:
    if not error_data:
        return None
    details = error_data.get("details")
    return str(details) if details is not None else None


@dataclass(slots=True)
class ApplyParked(Job[int]):
    """Apply parked statuses whose message has become known since."""

    now: float

    def run(self, conn: Connection) -> int:
        rows = conn.execute(
            select(parked_statuses.c.id, parked_statuses.c.phone_number_id, parked_statuses.c.status)
            .join(
                messages,
                (messages.c.phone_number_id == parked_statuses.c.phone_number_id)
                & (messages.c.upstream_id == parked_statuses.c.upstream_id),
            )
            .limit(5000)
        ).all()
        if not rows:
            return 0
        decoder = msgspec.json.Decoder(StatusEvent)
        events = [(row.phone_number_id, decoder.decode(row.status)) for row in rows]
        conn.execute(delete(parked_statuses).where(parked_statuses.c.id.in_([row.id for row in rows])))
        apply_statuses(conn, events, self.now)
        return len(rows)


# -- inbound messages -------------------------------------------------------------------------------
def apply_inbound(
    conn: Connection, inbound: list[tuple[int, dict[str, Any], dict[str, Any] | None]], now: float
) -> None:
    if not inbound:
        return
    numbers = {
        row.id: row.org_id
        for row in conn.execute(
            select(phone_numbers.c.id, phone_numbers.c.org_id).where(
                phone_numbers.c.id.in_(list({n for n, _, _ in inbound}))
            )
        )
    }
    context_ids = {
        m["context"]["id"]
        for _, m, _ in inbound
        if isinstance(m.get("context"), dict) and isinstance(m["context"].get("id"), str)
    }
    reaction_ids = {
        m["reaction"]["message_id"]
        for _, m, _ in inbound
        if isinstance(m.get("reaction"), dict) and isinstance(m["reaction"].get("message_id"), str)
    }
    translated: dict[tuple[int, str], str] = {}
    wanted = context_ids | reaction_ids
    if wanted:
        for row in conn.execute(
            select(messages.c.phone_number_id, messages.c.upstream_id, messages.c.wamid).where(
                messages.c.upstream_id.in_(list(wanted))
            )
        ):
            translated[(row.phone_number_id, row.upstream_id)] = row.wamid
    contact_rows: dict[tuple[int, str], dict[str, Any]] = {}
    windows: dict[tuple[int, str], float] = {}
    message_rows = []
    for number_id, message, contact in inbound:
        org_id = numbers.get(number_id)
        wa_id = message.get("from")
        upstream_id = message.get("id")
        if org_id is None or not isinstance(wa_id, str) or not isinstance(upstream_id, str):
            log.warning("ingest: kept an inbound message for unknown number %s or without sender", number_id)
            continue
        at = _message_time(message, now)
        profile = (contact or {}).get("profile") or {}
        contact_rows[(org_id, wa_id)] = {
            "org_id": org_id,
            "wa_id": wa_id,
            "profile_name": profile.get("name"),
            "user_id": (contact or {}).get("user_id"),
            "created_at": now,
            "updated_at": now,
        }
        if message.get("type") != "system":
            windows[(number_id, wa_id)] = max(at, windows.get((number_id, wa_id), 0.0))
        context = message.get("context")
        context_wamid = None
        if isinstance(context, dict) and isinstance(context.get("id"), str):
            context_wamid = translated.get((number_id, context["id"]))
        message_rows.append(
            {
                "wamid": new_wamid(b"WI"),
                "org_id": org_id,
                "phone_number_id": number_id,
                "direction": "in",
                "wa_id": wa_id,
                "recipient_input": None,
                "type": str(message.get("type", "unknown"))[:24],
                "content": _encoder.encode(_translate_refs(message, number_id, translated)).decode(),
                "status": "received",
                "priority": None,
                "category": None,
                "template_name": None,
                "callback_data": None,
                "context_wamid": context_wamid,
                "upstream_id": upstream_id,
                "created_at": at,
                "updated_at": now,
            }
        )
    if contact_rows:
        conn.execute(
            upsert(conn, contacts, ["org_id", "wa_id"], ["profile_name", "updated_at"]),
            list(contact_rows.values()),
        )
    if windows:
        conn.execute(
            upsert(conn, service_windows, ["phone_number_id", "wa_id"], ["last_inbound_at"]),
            [{"phone_number_id": n, "wa_id": w, "last_inbound_at": at} for (n, w), at in windows.items()],
        )
    if message_rows:
        conn.execute(insert_ignore(conn, messages), message_rows)


def _translate_refs(
    message: dict[str, Any], number_id: int, translated: dict[tuple[int, str], str]
) -> dict[str, Any]:
    """The inbound message as the business sees it: ids of its own messages in wagate's form."""
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


def _message_time(message: dict[str, Any], now: float) -> float:
    try:
        return float(message.get("timestamp", now))
    except (TypeError, ValueError):
        return now
