"""The event stream as its consumers read it: a cursor each, a lease, and the events they retry.

A consumer (the webhook fan-out, and later rules, dialogs, live views, campaign statistics) reads the
events after its `position` in id order. One worker holds a consumer at a time: `ClaimEvents` takes the
consumer's row (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two workers claiming at once never wait for
each other and only one gets it) and leases it to its owner; the lease is renewed by each claim and
given back at a clean stop, and a dead worker's lease runs out after a few seconds. `FinishEvents`
moves the cursor past what was handled and records the events that failed, which are retried with
backoff beside the new ones (`event_retries`) and never hold the cursor back.

A consumer could later be partitioned: several cursors named `<consumer>/<k>` each reading the events
of the organizations with `org_id % n == k`, each claimed like one consumer is here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Connection, and_, case, delete, exists, func, select, update

from wagate.store import sealed
from wagate.store.db import Job
from wagate.store.schema import event_consumers, event_retries, events
from wagate.store.sql import insert_ignore

_decoder = msgspec.json.Decoder(dict[str, Any])


@dataclass(frozen=True, slots=True)
class Event:
    """One event as a consumer receives it (`payload` is None for consumers that do not read it)."""

    id: int
    event_id: str
    org_id: int
    type: str
    created_at: float
    phone_number_id: int | None
    waba_id: int | None
    field: str | None
    has_meta_value: bool
    payload: dict[str, Any] | None = None
    attempts: int = 0  # earlier failed attempts: more than 0 for a retry


@dataclass(frozen=True, slots=True)
class Claim:
    position: int  # the consumer's cursor when claimed
    new: list[Event]  # the events after it, in id order
    retries: list[Event]  # failed earlier and due again
    final: bool  # no event below the newest read can still appear (SQLite's single writer)
    newest: int  # the highest event id there is
    waiting_retries: int  # events this consumer is retrying (due or not) or gave up


def _columns(with_payload: bool, payload_types: frozenset[str] | None = None) -> list[Any]:
    cols: list[Any] = [
        events.c.id,
        events.c.event_id,
        events.c.org_id,
        events.c.type,
        events.c.created_at,
        events.c.phone_number_id,
        events.c.waba_id,
        events.c.field,
        events.c.meta_value.is_not(None).label("has_meta_value"),
    ]
    if with_payload and payload_types is None:
        cols.append(events.c.payload)
    elif with_payload and payload_types is not None:  # only these types' payloads are read (and opened)
        cols.append(case((events.c.type.in_(sorted(payload_types)), events.c.payload)).label("payload"))
    return cols


def _event(conn: Connection, row: Any, with_payload: bool, attempts: int = 0) -> Event:
    payload = None
    if with_payload and row.payload is not None:
        payload = _decoder.decode(sealed.open_(conn, events.c.payload, row.payload))
    return Event(
        int(row.id),
        str(row.event_id),
        int(row.org_id),
        str(row.type),
        float(row.created_at),
        None if row.phone_number_id is None else int(row.phone_number_id),
        None if row.waba_id is None else int(row.waba_id),
        row.field,
        bool(row.has_meta_value),
        payload,
        attempts,
    )


@dataclass(slots=True)
class ClaimEvents(Job[Claim | None]):
    """Lease the consumer to `owner` and read what it has to do; None when another worker holds it."""

    consumer: str
    owner: str
    now: float
    lease_until: float
    limit: int
    with_payload: bool
    start_at_end: bool = False  # a consumer seen for the first time starts after the newest event
    payload_types: frozenset[str] | None = None  # read the payloads of these types only (None: all)

    def run(self, conn: Connection) -> Claim | None:
        newest = int(conn.execute(select(func.max(events.c.id))).scalar() or 0)
        # Another worker holding the row at this moment keeps it (PostgreSQL): nothing to do here.
        cursor = (
            select(event_consumers)
            .where(event_consumers.c.name == self.consumer)
            .with_for_update(skip_locked=True)
        )
        row = conn.execute(cursor).first()
        if row is None:
            start = newest if self.start_at_end else 0
            conn.execute(
                insert_ignore(conn, event_consumers),
                {"name": self.consumer, "position": start, "updated_at": self.now},
            )
            row = conn.execute(cursor).first()
            if row is None:
                return None
        held = row.claimed_by is not None and row.claimed_by != self.owner
        if held and row.lease_until is not None and row.lease_until > self.now:
            return None
        conn.execute(
            update(event_consumers)
            .where(event_consumers.c.name == self.consumer)
            .values(claimed_by=self.owner, lease_until=self.lease_until)
        )
        position = int(row.position)
        cols = _columns(self.with_payload, self.payload_types)
        new = [
            _event(conn, r, self.with_payload)
            for r in conn.execute(
                select(*cols).where(events.c.id > position).order_by(events.c.id).limit(self.limit)
            )
        ]
        due = conn.execute(
            select(*cols, event_retries.c.attempts)
            .join(events, events.c.id == event_retries.c.event_id)
            .where(
                event_retries.c.consumer == self.consumer,
                event_retries.c.next_attempt_at <= self.now,
            )
            .order_by(event_retries.c.next_attempt_at)
            .limit(self.limit)
        ).all()
        retries = [_event(conn, r, self.with_payload, int(r.attempts)) for r in due]
        waiting = int(
            conn.execute(select(func.count()).where(event_retries.c.consumer == self.consumer)).scalar_one()
        )
        final = conn.dialect.name == "sqlite"
        return Claim(position, new, retries, final, newest, waiting)


@dataclass(frozen=True, slots=True)
class Failure:
    event_id: int
    attempts: int  # attempts made so far, this one included
    next_attempt_at: float | None  # None: given up
    error: str


@dataclass(slots=True)
class FinishEvents(Job[None]):
    """Move the cursor to `position` (never back), forget retries that succeeded, record failures."""

    consumer: str
    owner: str
    now: float
    position: int
    succeeded_retries: list[int] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    release: bool = False

    def run(self, conn: Connection) -> None:
        values: dict[str, Any] = {
            "position": func.max(event_consumers.c.position, self.position)
            if conn.dialect.name == "sqlite"
            else func.greatest(event_consumers.c.position, self.position),
            "updated_at": self.now,
        }
        if self.release:
            values |= {"claimed_by": None, "lease_until": None}
        conn.execute(
            update(event_consumers)
            .where(event_consumers.c.name == self.consumer, event_consumers.c.claimed_by == self.owner)
            .values(**values)
        )
        if self.succeeded_retries:
            conn.execute(
                delete(event_retries).where(
                    event_retries.c.consumer == self.consumer,
                    event_retries.c.event_id.in_(self.succeeded_retries),
                )
            )
        for failure in self.failures:
            row = {
                "attempts": failure.attempts,
                "next_attempt_at": failure.next_attempt_at,
                "last_error": failure.error[:2000],
                "updated_at": self.now,
            }
            changed = conn.execute(
                update(event_retries)
                .where(
                    event_retries.c.consumer == self.consumer,
                    event_retries.c.event_id == failure.event_id,
                )
                .values(**row)
            ).rowcount
            if not changed:
                conn.execute(
                    insert_ignore(conn, event_retries),
                    {"consumer": self.consumer, "event_id": failure.event_id, **row},
                )


@dataclass(slots=True)
class ReleaseConsumer(Job[None]):
    """Give the consumer back at a clean stop, so another worker takes it at once."""

    consumer: str
    owner: str

    def run(self, conn: Connection) -> None:
        conn.execute(
            update(event_consumers)
            .where(event_consumers.c.name == self.consumer, event_consumers.c.claimed_by == self.owner)
            .values(claimed_by=None, lease_until=None)
        )


def handled_by_every_consumer() -> ColumnElement[bool]:
    """True for an event that every consumer has passed and none is retrying: it may be aged out."""
    lowest = select(func.min(event_consumers.c.position)).scalar_subquery()
    retried = exists().where(event_retries.c.event_id == events.c.id)
    return and_(events.c.id <= func.coalesce(lowest, 0), ~retried)


def positions(conn: Connection) -> dict[str, int]:
    """Each consumer's cursor."""
    return {str(r.name): int(r.position) for r in conn.execute(select(event_consumers))}
