"""Webhooks to the business: subscriptions, fanning events out to deliveries, claiming and settling them.

A delivery is one event for one subscription. Fan-out creates them for the events its consumer reads
after its cursor (`workers/consumer.py`); a delivery is unique per subscription and event, so an event
read twice after a crash is not delivered twice. The sender claims due deliveries with a lease; a lease
that ends without an outcome (a crash) makes the delivery claimable again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.sql.elements import ColumnElement

from wagate.store import sealed
from wagate.store.db import BatchJob, Job
from wagate.store.event_consumers import Event
from wagate.store.schema import events, phone_numbers, webhook_deliveries, webhook_subscriptions
from wagate.store.sql import insert_ignore

FAN_OUT_BATCH = 500


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    org_id: int
    url: str
    format: str  # meta | wagate
    secret: str
    verify_token: str | None
    phone_number_ids: list[int] | None  # None: every number
    event_types: list[str] | None  # None: every event
    max_concurrency: int
    batch_size: int
    active: bool
    created_at: float
    updated_at: float


def _json_list(raw: str | None) -> list[Any] | None:
    return None if raw is None else list(json.loads(raw))


def _dump_list(values: Sequence[Any] | None) -> str | None:
    return None if values is None else json.dumps(list(values))


def _subscription(conn: Connection, row: Any) -> Subscription:
    return Subscription(
        id=int(row.id),
        org_id=int(row.org_id),
        url=row.url,
        format=row.format,
        secret=sealed.open_(conn, webhook_subscriptions.c.secret, row.secret),
        verify_token=sealed.open_opt(conn, webhook_subscriptions.c.verify_token, row.verify_token),
        phone_number_ids=_json_list(row.phone_number_ids),
        event_types=_json_list(row.event_types),
        max_concurrency=int(row.max_concurrency),
        batch_size=int(row.batch_size),
        active=bool(row.active),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# -- subscriptions ----------------------------------------------------------------------------------
@dataclass(slots=True)
class CreateSubscription(Job[Subscription]):
    org_id: int
    url: str
    format: str
    secret: str
    verify_token: str | None
    phone_number_ids: list[int] | None
    event_types: list[str] | None
    max_concurrency: int
    now: float
    batch_size: int = 1

    def run(self, conn: Connection) -> Subscription:
        row = conn.execute(
            insert(webhook_subscriptions)
            .values(
                org_id=self.org_id,
                url=self.url,
                format=self.format,
                secret=sealed.seal(conn, webhook_subscriptions.c.secret, self.secret),
                verify_token=sealed.seal_opt(conn, webhook_subscriptions.c.verify_token, self.verify_token),
                phone_number_ids=_dump_list(self.phone_number_ids),
                event_types=_dump_list(self.event_types),
                max_concurrency=self.max_concurrency,
                batch_size=self.batch_size,
                active=1,
                created_at=self.now,
                updated_at=self.now,
            )
            .returning(*webhook_subscriptions.c)
        ).one()
        return _subscription(conn, row)


@dataclass(slots=True)
class UpdateSubscription(Job[Subscription | None]):
    """Change the given fields of one subscription of `org_id`; None when it is not the org's."""

    org_id: int
    subscription_id: int
    changes: dict[str, Any]
    now: float

    def run(self, conn: Connection) -> Subscription | None:
        values = dict(self.changes)
        for name in ("phone_number_ids", "event_types"):
            if name in values:
                values[name] = _dump_list(values[name])
        if "active" in values:
            values["active"] = int(values["active"])
        if "secret" in values:
            values["secret"] = sealed.seal(conn, webhook_subscriptions.c.secret, values["secret"])
        if "verify_token" in values:
            values["verify_token"] = sealed.seal_opt(
                conn, webhook_subscriptions.c.verify_token, values["verify_token"]
            )
        row = conn.execute(
            update(webhook_subscriptions)
            .where(
                webhook_subscriptions.c.id == self.subscription_id,
                webhook_subscriptions.c.org_id == self.org_id,
            )
            .values(**values, updated_at=self.now)
            .returning(*webhook_subscriptions.c)
        ).first()
        return None if row is None else _subscription(conn, row)


@dataclass(slots=True)
class DeleteSubscription(Job[bool]):
    """Remove a subscription of `org_id` and its deliveries (nothing is left to deliver them to)."""

    org_id: int
    subscription_id: int

    def run(self, conn: Connection) -> bool:
        deleted = conn.execute(
            delete(webhook_subscriptions).where(
                webhook_subscriptions.c.id == self.subscription_id,
                webhook_subscriptions.c.org_id == self.org_id,
            )
        ).rowcount
        if deleted:
            conn.execute(
                delete(webhook_deliveries).where(webhook_deliveries.c.subscription_id == self.subscription_id)
            )
        return bool(deleted)


def subscriptions_of(conn: Connection, org_id: int | None) -> list[Subscription]:
    """The subscriptions of one organization, or of every organization (the operator's CLI)."""
    query = select(webhook_subscriptions).order_by(webhook_subscriptions.c.id)
    if org_id is not None:
        query = query.where(webhook_subscriptions.c.org_id == org_id)
    return [_subscription(conn, row) for row in conn.execute(query)]


def subscription_by_id(conn: Connection, org_id: int, subscription_id: int) -> Subscription | None:
    row = conn.execute(
        select(webhook_subscriptions).where(
            webhook_subscriptions.c.id == subscription_id, webhook_subscriptions.c.org_id == org_id
        )
    ).first()
    return None if row is None else _subscription(conn, row)


# -- fan-out ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FanOutReport:
    events: int
    deliveries: int


def _matches(sub: Subscription, event: Event, number_wabas: dict[int, int]) -> bool:
    if sub.event_types is not None and event.type not in sub.event_types:
        return False
    if sub.format == "meta" and (not event.has_meta_value or event.field is None):
        return False  # nothing to put in Meta's envelope
    if sub.phone_number_ids is None:
        return True
    if event.phone_number_id is not None:
        return int(event.phone_number_id) in sub.phone_number_ids
    if event.waba_id is not None:
        # An account-wide event (a template's status) concerns the numbers of that business account.
        return any(number_wabas.get(n) == event.waba_id for n in sub.phone_number_ids)
    return True


@dataclass(slots=True)
class FanOut(Job[FanOutReport]):
    """Turn events (read by the webhook fan-out consumer, `workers/webhook_sender.py`) into deliveries
    for the subscriptions they match. A delivery is unique per subscription and event, so events
    handed over twice (a worker died before its cursor moved) make no second delivery."""

    now: float
    batch: Sequence[Event]

    def run(self, conn: Connection) -> FanOutReport:
        batch = self.batch
        if not batch:
            return FanOutReport(0, 0)
        org_ids = {row.org_id for row in batch}
        subs: dict[int, list[Subscription]] = {}
        for sub in conn.execute(
            select(webhook_subscriptions).where(
                webhook_subscriptions.c.org_id.in_(org_ids), webhook_subscriptions.c.active == 1
            )
        ):
            subs.setdefault(int(sub.org_id), []).append(_subscription(conn, sub))
        filtered = {n for group in subs.values() for s in group for n in s.phone_number_ids or ()}
        number_wabas: dict[int, int] = {}
        if filtered:
            number_wabas = {
                int(r.id): int(r.waba_id)
                for r in conn.execute(
                    select(phone_numbers.c.id, phone_numbers.c.waba_id).where(
                        phone_numbers.c.id.in_(filtered)
                    )
                )
            }
        rows = [
            {
                "org_id": event.org_id,
                "subscription_id": sub.id,
                "event_id": event.id,
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": self.now,
                "created_at": self.now,
            }
            for event in batch
            for sub in subs.get(int(event.org_id), ())
            if _matches(sub, event, number_wabas)
        ]
        if rows:
            conn.execute(insert_ignore(conn, webhook_deliveries), rows)
        return FanOutReport(len(batch), len(rows))


# -- claiming and settling --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    delivery_id: int
    subscription_id: int
    url: str
    format: str
    secret: str
    attempts: int  # including this one
    event_id: str
    event_type: str
    event_created_at: float
    org_id: int
    phone_number_id: int | None
    waba_id: int | None
    field: str | None
    payload: str
    meta_value: str | None
    batch_size: int = 1


@dataclass(slots=True)
class ClaimDeliveries(Job[list[ClaimedDelivery]]):
    """Lease due deliveries, never more per subscription than its free share of `max_concurrency`.

    `in_flight` holds the deliveries this sender is attempting, by subscription: they count against the
    subscription's concurrency and are never claimed twice, even when business time jumps past their
    lease.
    """

    now: float
    lease_until: float
    limit: int
    in_flight: dict[int, list[int]]
    # Attempts in flight by subscription (an attempt may carry several deliveries); by default one each.
    attempts: dict[int, int] = field(default_factory=dict)

    def run(self, conn: Connection) -> list[ClaimedDelivery]:
        subs = conn.execute(
            select(
                webhook_subscriptions.c.id,
                webhook_subscriptions.c.max_concurrency,
                webhook_subscriptions.c.batch_size,
            )
            .where(webhook_subscriptions.c.active == 1)
            .order_by(webhook_subscriptions.c.id)
        ).all()
        d = webhook_deliveries.c
        chosen: list[int] = []
        for sub in subs:
            busy = self.in_flight.get(int(sub.id), [])
            running = self.attempts.get(int(sub.id), len(busy))
            free_attempts = int(sub.max_concurrency) - running
            free = min(free_attempts * int(sub.batch_size), self.limit - len(chosen))
            if free <= 0:
                continue
            query = (
                select(d.id)
                .where(
                    d.subscription_id == sub.id,
                    d.state == "pending",
                    d.next_attempt_at <= self.now,
                    (d.lease_until.is_(None)) | (d.lease_until <= self.now),
                )
                .order_by(d.next_attempt_at, d.id)
                .limit(free)
                # Other workers' claims in progress are skipped, not waited for (PostgreSQL; SQLite has
                # one writer and no row locks).
                .with_for_update(skip_locked=True)
            )
            if busy:
                query = query.where(d.id.not_in(busy))
            chosen.extend(int(row.id) for row in conn.execute(query))
            if len(chosen) >= self.limit:
                break
        if not chosen:
            return []
        conn.execute(
            update(webhook_deliveries)
            .where(d.id.in_(chosen))
            .values(lease_until=self.lease_until, attempts=d.attempts + 1)
        )
        rows = conn.execute(
            select(
                d.id,
                d.subscription_id,
                d.attempts,
                webhook_subscriptions.c.url,
                webhook_subscriptions.c.format,
                webhook_subscriptions.c.secret,
                webhook_subscriptions.c.batch_size,
                events.c.event_id,
                events.c.type,
                events.c.created_at,
                events.c.org_id,
                events.c.phone_number_id,
                events.c.waba_id,
                phone_numbers.c.waba_id.label("number_waba_id"),
                events.c.field,
                events.c.payload,
                events.c.meta_value,
            )
            .join(webhook_subscriptions, webhook_subscriptions.c.id == d.subscription_id)
            .join(events, events.c.id == d.event_id)
            .outerjoin(phone_numbers, phone_numbers.c.id == events.c.phone_number_id)
            .where(d.id.in_(chosen))
            .order_by(d.next_attempt_at, d.id)
        ).all()
        return [
            ClaimedDelivery(
                delivery_id=int(r.id),
                subscription_id=int(r.subscription_id),
                url=r.url,
                format=r.format,
                secret=sealed.open_(conn, webhook_subscriptions.c.secret, r.secret),
                attempts=int(r.attempts),
                event_id=r.event_id,
                event_type=r.type,
                event_created_at=r.created_at,
                org_id=int(r.org_id),
                phone_number_id=None if r.phone_number_id is None else int(r.phone_number_id),
                waba_id=_first_int(r.waba_id, r.number_waba_id),
                field=r.field,
                payload=sealed.open_(conn, events.c.payload, r.payload),
                meta_value=sealed.open_opt(conn, events.c.meta_value, r.meta_value),
                batch_size=int(r.batch_size),
            )
            for r in rows
        ]


def _first_int(*values: Any) -> int | None:
    return next((int(v) for v in values if v is not None), None)


@dataclass(slots=True)
class DeliveryOutcome(BatchJob[None]):
    """The end of one attempt: delivered, pending again at `next_attempt_at`, or dead."""

    delivery_id: int
    state: str
    next_attempt_at: float
    status_code: int | None
    error: str | None
    delivered_at: float | None = None

    def run(self, conn: Connection) -> None:
        self.run_batch(conn, [self])

    @classmethod
    def run_batch(cls, conn: Connection, jobs: Sequence[Job[Any]]) -> list[Any]:
        d = webhook_deliveries.c
        conn.execute(
            update(webhook_deliveries)
            # A delivery replayed or settled by someone else meanwhile keeps what they decided.
            .where(d.id == bindparam("b_id"), d.state == "pending", d.lease_until.is_not(None))
            .values(
                state=bindparam("b_state"),
                next_attempt_at=bindparam("b_next"),
                lease_until=None,
                last_status_code=bindparam("b_status"),
                last_error=bindparam("b_error"),
                delivered_at=bindparam("b_delivered"),
            ),
            [
                {
                    "b_id": job.delivery_id,
                    "b_state": job.state,
                    "b_next": job.next_attempt_at,
                    "b_status": job.status_code,
                    "b_error": job.error,
                    "b_delivered": job.delivered_at,
                }
                for job in jobs
                if isinstance(job, DeliveryOutcome)
            ],
        )
        return [None] * len(jobs)


@dataclass(slots=True)
class ReleaseDeliveries(Job[int]):
    """Give back deliveries whose attempt was abandoned at a clean stop: due again at once."""

    delivery_ids: list[int]

    def run(self, conn: Connection) -> int:
        if not self.delivery_ids:
            return 0
        d = webhook_deliveries.c
        return int(
            conn.execute(
                update(webhook_deliveries)
                .where(d.id.in_(self.delivery_ids), d.state == "pending")
                .values(lease_until=None)
            ).rowcount
        )


# -- replay and listing -----------------------------------------------------------------------------
@dataclass(slots=True)
class ReplayDeliveries(Job[int]):
    """Make deliveries pending again, attempts reset, due at `now`; those being attempted are left alone.

    Every filter is optional and they combine: one organization, one delivery, one subscription, one
    state, events created at or after `since`.
    """

    now: float
    org_id: int | None = None
    delivery_id: int | None = None
    subscription_id: int | None = None
    state: str | None = None
    since: float | None = None

    def run(self, conn: Connection) -> int:
        d = webhook_deliveries.c
        conditions: list[ColumnElement[bool]] = [(d.lease_until.is_(None)) | (d.lease_until <= self.now)]
        if self.org_id is not None:
            conditions.append(d.org_id == self.org_id)
        if self.delivery_id is not None:
            conditions.append(d.id == self.delivery_id)
        if self.subscription_id is not None:
            conditions.append(d.subscription_id == self.subscription_id)
        if self.state is not None:
            conditions.append(d.state == self.state)
        if self.since is not None:
            recent = select(events.c.id).where(events.c.created_at >= self.since)
            if self.org_id is not None:
                recent = recent.where(events.c.org_id == self.org_id)
            conditions.append(d.event_id.in_(recent))
        result = conn.execute(
            update(webhook_deliveries)
            .where(*conditions)
            .values(
                state="pending", attempts=0, next_attempt_at=self.now, lease_until=None, delivered_at=None
            )
        )
        return int(result.rowcount)


_DELIVERY_COLUMNS = (
    webhook_deliveries.c.id,
    webhook_deliveries.c.subscription_id,
    webhook_deliveries.c.state,
    webhook_deliveries.c.attempts,
    webhook_deliveries.c.next_attempt_at,
    webhook_deliveries.c.last_status_code,
    webhook_deliveries.c.last_error,
    webhook_deliveries.c.created_at,
    webhook_deliveries.c.delivered_at,
    events.c.event_id,
    events.c.type.label("event_type"),
    events.c.created_at.label("event_created_at"),
)


def deliveries_of(
    conn: Connection,
    org_id: int,
    *,
    state: str | None = None,
    subscription_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """An organization's deliveries, newest first, those with an id below `before_id` (a cursor)."""
    d = webhook_deliveries.c
    query = (
        select(*_DELIVERY_COLUMNS)
        .join(events, events.c.id == d.event_id)
        .where(d.org_id == org_id)
        .order_by(d.id.desc())
        .limit(limit)
    )
    if state is not None:
        query = query.where(d.state == state)
    if subscription_id is not None:
        query = query.where(d.subscription_id == subscription_id)
    if before_id is not None:
        query = query.where(d.id < before_id)
    return [dict(row) for row in conn.execute(query).mappings()]


def delivery_by_id(conn: Connection, org_id: int, delivery_id: int) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(*_DELIVERY_COLUMNS)
            .join(events, events.c.id == webhook_deliveries.c.event_id)
            .where(webhook_deliveries.c.id == delivery_id, webhook_deliveries.c.org_id == org_id)
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)
