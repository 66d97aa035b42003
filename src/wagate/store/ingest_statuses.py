"""Applying statuses of outbound messages: once each, forward only, parked while the message is unknown."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from sqlalchemy import Connection, delete, select, text

from wagate.cloudapi.webhooks import StatusEvent
from wagate.domain.lifecycle import Status, resulting_status
from wagate.store.events import record_events
from wagate.store.schema import message_statuses, messages, outbox, parked_statuses
from wagate.store.sql import insert_ignore, many
from wagate.store.status_events import StatusChange, status_events
from wagate.store.tenancy import numbers_by_id

log = logging.getLogger(__name__)
_encoder = msgspec.json.Encoder()

_COLUMNS = (
    messages.c.id,
    messages.c.wamid,
    messages.c.status,
    messages.c.phone_number_id,
    messages.c.upstream_id,
    messages.c.org_id,
    messages.c.wa_id,
    messages.c.callback_data,
)
_BY_CALLBACK = select(*_COLUMNS).where(messages.c.wamid.in_(many("wamids")), messages.c.direction == "out")
_BY_UPSTREAM = select(*_COLUMNS).where(
    messages.c.phone_number_id.in_(many("numbers")), messages.c.upstream_id.in_(many("upstream_ids"))
)
_SEEN = select(message_statuses.c.message_id, message_statuses.c.status).where(
    message_statuses.c.message_id.in_(many("ids"))
)
_SETTLE = delete(outbox).where(outbox.c.message_id.in_(many("ids")))


def apply_statuses(conn: Connection, statuses: list[tuple[int, StatusEvent]], now: float) -> int:
    """Apply statuses to their messages and record the changes as events; park those whose message is
    unknown. Returns how many were parked."""
    if not statuses:
        return 0
    found = _by_callback(conn, statuses)
    unresolved = [(n, s) for n, s in statuses if _resolve(found, n, s) is None]
    by_upstream: dict[tuple[int, str], Any] = {}
    if unresolved:
        params = {
            "numbers": list({n for n, _ in unresolved}),
            "upstream_ids": list({s.id for _, s in unresolved}),
        }
        for row in conn.execute(_BY_UPSTREAM, params):
            by_upstream[(row.phone_number_id, row.upstream_id)] = row
    matched: list[tuple[Any, Status, StatusEvent]] = []
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
        if status is None or status in (Status.ACCEPTED, Status.RECEIVED):
            log.warning("ingest: status %r for %s kept in the raw event only", event.status, target.wamid)
            continue
        matched.append((target, status, event))
    if parked:
        conn.execute(parked_statuses.insert(), parked)
    if not matched:
        return len(parked)
    ids = list({row.id for row, _, _ in matched})
    seen = {(r.message_id, r.status) for r in conn.execute(_SEEN, {"ids": ids})}
    history, changes = [], []
    numbers = numbers_by_id(conn, {row.phone_number_id for row, _, _ in matched})
    per_message: dict[int, tuple[Any, list[Status], StatusEvent]] = {}
    for row, status, event in matched:
        entry = per_message.setdefault(row.id, (row, [], event))
        if (row.id, status.value) in seen:
            continue  # a repeated status: its effects happened once already
        seen.add((row.id, status.value))
        entry[1].append(status)
        error = _error(event)
        at = _event_time(event, now)
        history.append(
            {
                "message_id": row.id,
                "status": status.value,
                "at": at,
                "error_code": error["code"] if error else None,
                "error_title": error["title"] if error else None,
                "error_details": error["details"] if error else None,
            }
        )
        changes.append(
            StatusChange(
                row.org_id,
                numbers[row.phone_number_id],
                row.wamid,
                row.wa_id,
                status.value,
                at,
                row.callback_data,
                error,
                event.pricing,
                event.conversation,
                event.recipient_user_id,
            )
        )
    if history:
        conn.execute(insert_ignore(conn, message_statuses), history)
    updates = []
    for message_id, (row, new, event) in per_message.items():
        current = Status.parse(row.status) or Status.ACCEPTED
        final = resulting_status(current, new)
        error = _error(event) if final == Status.FAILED else None
        if final != current or row.upstream_id is None:
            updates.append(
                {
                    "message_id": message_id,
                    "status": final.value,
                    "upstream_id": event.id,
                    "now": now,
                    "code": error["code"] if error else None,
                    "title": error["title"] if error else None,
                    "details": error["details"] if error else None,
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
    # A status proves the upstream has the message: a send waiting on reconciliation is settled.
    conn.execute(_SETTLE, {"ids": list(per_message)})
    record_events(conn, status_events(conn, changes, now))
    return len(parked)


def _by_callback(conn: Connection, statuses: list[tuple[int, StatusEvent]]) -> dict[str, Any]:
    callbacks = {s.biz_opaque_callback_data for _, s in statuses if s.biz_opaque_callback_data}
    if not callbacks:
        return {}
    rows = conn.execute(_BY_CALLBACK, {"wamids": list(callbacks)})
    return {row.wamid: row for row in rows}


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


def _error(event: StatusEvent) -> dict[str, Any] | None:
    if not event.errors:
        return None
    first = event.errors[0]
    details = (first.error_data or {}).get("details")
    error: dict[str, Any] = {
        "code": first.code,
        "title": first.title or first.message,
        "details": str(details) if details is not None else None,
    }
    if first.href is not None:
        error["href"] = first.href
    return error
