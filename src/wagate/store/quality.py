"""The organizations' quality rating: signals counted over 7 days, changes recorded with their events."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select, update

from wagate.domain.policy import (
    NEGATIVE_FAILURES,
    QUALITY_LEVELS,
    QUALITY_WINDOW,
    QualitySignals,
    quality_rating,
)
from wagate.store.db import Job
from wagate.store.events import NewEvent, record_events
from wagate.store.schema import consents, messages, org_policies, organizations, phone_numbers
from wagate.store.sql import first_to_run, insert_ignore


@dataclass(frozen=True, slots=True)
class QualityChange:
    org_id: int
    previous: str
    current: str
    signals: QualitySignals

    @property
    def dropped(self) -> bool:
        return QUALITY_LEVELS.index(self.current) > QUALITY_LEVELS.index(self.previous)


def signals_of(conn: Connection, org_id: int, now: float) -> QualitySignals:
    since = now - QUALITY_WINDOW
    outbound = (messages.c.org_id == org_id, messages.c.created_at > since, messages.c.direction == "out")
    sent = conn.execute(select(func.count()).select_from(messages).where(*outbound)).scalar_one()
    failures = conn.execute(
        select(func.count())
        .select_from(messages)
        .where(*outbound, messages.c.status == "failed", messages.c.error_code.in_(NEGATIVE_FAILURES))
    ).scalar_one()
    opt_outs = conn.execute(
        select(func.count())
        .select_from(consents)
        .where(consents.c.org_id == org_id, consents.c.action == "opt_out", consents.c.at > since)
    ).scalar_one()
    return QualitySignals(int(sent), int(failures), int(opt_outs))


def rating_of(conn: Connection, org_id: int) -> str:
    found = conn.execute(
        select(org_policies.c.quality_rating).where(org_policies.c.org_id == org_id)
    ).scalar()
    return "GREEN" if found is None else str(found)


@dataclass(slots=True)
class UpdateQuality(Job[list[QualityChange]]):
    """Rate every organization again; record each change (and its events) in this commit."""

    now: float

    def run(self, conn: Connection) -> list[QualityChange]:
        if not first_to_run(conn, "quality"):
            return []  # another worker rates them now; a second would record each change twice
        changes = []
        for (org_id,) in conn.execute(select(organizations.c.id)).all():
            signals = signals_of(conn, int(org_id), self.now)
            current = quality_rating(signals)
            previous = rating_of(conn, int(org_id))
            if current == previous:
                continue
            conn.execute(
                insert_ignore(conn, org_policies),
                {"org_id": org_id, "settings": "{}", "quality_rating": "GREEN", "updated_at": self.now},
            )
            conn.execute(
                update(org_policies)
                .where(org_policies.c.org_id == org_id)
                .values(quality_rating=current, quality_updated_at=self.now)
            )
            change = QualityChange(int(org_id), previous, current, signals)
            record_events(conn, _events(conn, change, self.now))
            changes.append(change)
        return changes


def _events(conn: Connection, change: QualityChange, now: float) -> list[NewEvent]:
    """`account.quality` for the organization, told in Meta's format as a `phone_number_quality_update`
    of each of its numbers."""
    tier = conn.execute(
        select(organizations.c.messaging_tier).where(organizations.c.id == change.org_id)
    ).scalar_one()
    payload = {
        "previous": change.previous,
        "current": change.current,
        "signals": {
            "sent": change.signals.sent,
            "failures": change.signals.failures,
            "opt_outs": change.signals.opt_outs,
        },
        "window_days": int(QUALITY_WINDOW // 86400),
    }
    numbers = conn.execute(
        select(phone_numbers.c.id, phone_numbers.c.waba_id, phone_numbers.c.display_phone_number).where(
            phone_numbers.c.org_id == change.org_id
        )
    ).all()
    if not numbers:
        return [NewEvent(change.org_id, "account.quality", payload, now)]
    return [
        NewEvent(
            change.org_id,
            "account.quality",
            {**payload, "phone_number_id": str(n.id)},
            now,
            phone_number_id=int(n.id),
            waba_id=int(n.waba_id),
            field="phone_number_quality_update",
            meta_value={
                "display_phone_number": "".join(ch for ch in n.display_phone_number if ch.isdigit()),
                "event": "DOWNGRADE" if change.dropped else "UPGRADE",
                "current_limit": str(tier),
            },
        )
        for n in numbers
    ]
