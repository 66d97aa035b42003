"""Recording events for the business, in the transaction that decided them (see docs/events.md)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import Connection

from wagate.store import sealed
from wagate.store.schema import events
from wagate.store.sql import insert_rows

_encoder = msgspec.json.Encoder()


def new_event_id() -> str:
    return "evt_" + secrets.token_urlsafe(18)


@dataclass(frozen=True, slots=True)
class NewEvent:
    org_id: int
    type: str
    payload: dict[str, Any]
    created_at: float
    phone_number_id: int | None = None
    waba_id: int | None = None
    field: str | None = None
    meta_value: dict[str, Any] | None = None


def record_events(conn: Connection, new: list[NewEvent]) -> None:
    if not new:
        return
    insert_rows(
        conn,
        events,
        [
            {
                "event_id": new_event_id(),
                "org_id": e.org_id,
                "type": e.type,
                "phone_number_id": e.phone_number_id,
                "waba_id": e.waba_id,
                "field": e.field,
                "payload": sealed.seal(conn, events.c.payload, _encoder.encode(e.payload).decode()),
                "meta_value": None
                if e.meta_value is None
                else sealed.seal(conn, events.c.meta_value, _encoder.encode(e.meta_value).decode()),
                "created_at": e.created_at,
            }
            for e in new
        ],
    )
