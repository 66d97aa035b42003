"""Retention: each organization's periods, the batches that delete what is past them, and the record of
each run.

A batch deletes, for one organization, at most `limit` rows of each kind, in the writer's transaction:

- messages created before the message cutoff, with their statuses, unless the message still has an
  outbox row (queued, or sent with its outcome in doubt): those wait until they settle;
- events created before the message cutoff, with their webhook deliveries, once fanned out and with no
  delivery still pending (the business has not had them yet);
- conversations whose last message is older than the cutoff and which have no message left;
- media created before the media cutoff (marked deleted; the caller deletes the files after the commit).

The consent ledger (`consents`) and `contact_preferences` are never touched: they prove what customers
decided.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, insert, select, update

from wagate.store.db import Job
from wagate.store.event_consumers import handled_by_every_consumer
from wagate.store.management import Stamp, record_change
from wagate.store.schema import (
    conversations,
    erasures,
    events,
    media,
    message_statuses,
    messages,
    organizations,
    outbox,
    retention_policies,
    retention_runs,
    webhook_deliveries,
)
from wagate.store.sql import first_to_run, upsert

COUNTED = ("messages", "statuses", "events", "deliveries", "conversations", "media")


@dataclass(frozen=True, slots=True)
class RetentionPeriods:
    """Days, or None for the default (messages: forever; media: the deployment's setting)."""

    message_days: int | None = None
    media_days: int | None = None


def load_periods(conn: Connection, org_id: int) -> RetentionPeriods:
    row = conn.execute(
        select(retention_policies.c.message_retention_days, retention_policies.c.media_retention_days).where(
            retention_policies.c.org_id == org_id
        )
    ).first()
    if row is None:
        return RetentionPeriods()
    return RetentionPeriods(row.message_retention_days, row.media_retention_days)


def all_periods(conn: Connection) -> dict[int, RetentionPeriods]:
    """Every organization's periods (defaults for those that set none)."""
    rows = conn.execute(
        select(
            organizations.c.id,
            retention_policies.c.message_retention_days,
            retention_policies.c.media_retention_days,
        ).select_from(
            organizations.outerjoin(retention_policies, retention_policies.c.org_id == organizations.c.id)
        )
    ).all()
    return {int(r.id): RetentionPeriods(r.message_retention_days, r.media_retention_days) for r in rows}


@dataclass(slots=True)
class SavePeriods(Job[RetentionPeriods]):
    """Stores the periods, with the audit entry of the change."""

    org_id: int
    periods: RetentionPeriods
    by: Stamp

    def run(self, conn: Connection) -> RetentionPeriods:
        conn.execute(
            upsert(
                conn,
                retention_policies,
                ["org_id"],
                ["message_retention_days", "media_retention_days", "updated_at"],
            ),
            {
                "org_id": self.org_id,
                "message_retention_days": self.periods.message_days,
                "media_retention_days": self.periods.media_days,
                "updated_at": self.by.at,
            },
        )
        detail = {
            "message_retention_days": self.periods.message_days,
            "media_retention_days": self.periods.media_days,
        }
        record_change(conn, self.org_id, self.by, "retention.update", "organization", self.org_id, detail)
        return self.periods


def runs_of(conn: Connection, org_id: int, limit: int, offset: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(retention_runs)
        .where(retention_runs.c.org_id == org_id)
        .order_by(retention_runs.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).mappings()
    return [{"id": r["id"], "at": r["at"], "counts": json.loads(r["counts"])} for r in rows]


@dataclass(slots=True)
class PruneResult:
    run_id: int | None
    counts: dict[str, int] = field(default_factory=dict)
    storage_keys: list[str] = field(default_factory=list)  # files to delete ("" for media never stored)
    more: bool = False  # a kind hit the limit: run another batch


@dataclass(slots=True)
class PruneBatch(Job[PruneResult]):
    """One bounded batch of an organization's retention; adds its counts to the run's record."""

    org_id: int
    run_id: int | None
    message_cutoff: float | None
    media_cutoff: float
    now: float
    limit: int = 500

    def run(self, conn: Connection) -> PruneResult:
        if not first_to_run(conn, "retention"):
            return PruneResult(self.run_id)  # another worker is deleting now; the next run goes on
        counts = dict.fromkeys(COUNTED, 0)
        more = False
        if self.message_cutoff is not None:
            more |= self._messages(conn, self.message_cutoff, counts)
            more |= self._events(conn, self.message_cutoff, counts)
            self._conversations(conn, self.message_cutoff, counts)
        keys, more_media = self._media(conn)
        counts["media"] = len(keys)
        result = PruneResult(self.run_id, counts, keys, more or more_media)
        if any(counts.values()):
            result.run_id = self._record(conn, counts)
        return result

    def _messages(self, conn: Connection, cutoff: float, counts: dict[str, int]) -> bool:
        queued = exists().where(outbox.c.message_id == messages.c.id)
        ids = [
            int(i)
            for i in conn.execute(
                select(messages.c.id)
                .where(messages.c.org_id == self.org_id, messages.c.created_at < cutoff, ~queued)
                .order_by(messages.c.created_at)
                .limit(self.limit)
            ).scalars()
        ]
        if not ids:
            return False
        counts["statuses"] = conn.execute(
            delete(message_statuses).where(message_statuses.c.message_id.in_(ids))
        ).rowcount
        counts["messages"] = conn.execute(delete(messages).where(messages.c.id.in_(ids))).rowcount
        return len(ids) == self.limit

    def _events(self, conn: Connection, cutoff: float, counts: dict[str, int]) -> bool:
        undelivered = exists().where(
            webhook_deliveries.c.event_id == events.c.id, webhook_deliveries.c.state == "pending"
        )
        ids = [
            int(i)
            for i in conn.execute(
                select(events.c.id)
                .where(
                    events.c.org_id == self.org_id,
                    events.c.created_at < cutoff,
                    handled_by_every_consumer(),
                    ~undelivered,
                )
                .order_by(events.c.id)
                .limit(self.limit)
            ).scalars()
        ]
        if not ids:
            return False
        counts["deliveries"] = conn.execute(
            delete(webhook_deliveries).where(webhook_deliveries.c.event_id.in_(ids))
        ).rowcount
        counts["events"] = conn.execute(delete(events).where(events.c.id.in_(ids))).rowcount
        return len(ids) == self.limit

    def _conversations(self, conn: Connection, cutoff: float, counts: dict[str, int]) -> None:
        left = exists().where(
            messages.c.phone_number_id == conversations.c.phone_number_id,
            messages.c.wa_id == conversations.c.wa_id,
        )
        ids = [
            int(i)
            for i in conn.execute(
                select(conversations.c.id)
                .where(
                    conversations.c.org_id == self.org_id,
                    conversations.c.last_message_at < cutoff,
                    ~left,
                )
                .limit(self.limit)
            ).scalars()
        ]
        if ids:
            counts["conversations"] = conn.execute(
                delete(conversations).where(conversations.c.id.in_(ids))
            ).rowcount

    def _media(self, conn: Connection) -> tuple[list[str], bool]:
        rows = conn.execute(
            select(media.c.id, media.c.storage_key)
            .where(
                and_(
                    media.c.org_id == self.org_id,
                    media.c.deleted_at.is_(None),
                    media.c.created_at < self.media_cutoff,
                )
            )
            .limit(self.limit)
        ).all()
        if not rows:
            return [], False
        conn.execute(
            update(media).where(media.c.id.in_([int(r.id) for r in rows])).values(deleted_at=self.now)
        )
        return [str(r.storage_key) for r in rows], len(rows) == self.limit

    def _record(self, conn: Connection, counts: dict[str, int]) -> int:
        if self.run_id is None:
            return int(
                conn.execute(
                    insert(retention_runs)
                    .values(org_id=self.org_id, at=self.now, counts=json.dumps(counts))
                    .returning(retention_runs.c.id)
                ).scalar_one()
            )
        found = conn.execute(
            select(retention_runs.c.counts).where(retention_runs.c.id == self.run_id)
        ).scalar()
        total = json.loads(found) if found is not None else {}
        for key, value in counts.items():
            total[key] = int(total.get(key, 0)) + value
        conn.execute(
            update(retention_runs).where(retention_runs.c.id == self.run_id).values(counts=json.dumps(total))
        )
        return self.run_id


def erasures_of(conn: Connection, org_id: int, limit: int, offset: int) -> list[dict[str, Any]]:
    """The organization's erased contacts, newest first: who, when, and how many rows went."""
    rows = conn.execute(
        select(erasures)
        .where(erasures.c.org_id == org_id)
        .order_by(erasures.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).mappings()
    return [
        {"id": r["id"], "wa_id": r["wa_id"], "erased_at": r["erased_at"], "counts": json.loads(r["counts"])}
        for r in rows
    ]
