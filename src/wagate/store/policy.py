"""Reads and housekeeping for the policy checks: windows, tier places, marketing sends."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, select

from wagate.domain.policy import DAY, WEEK
from wagate.store.db import Job
from wagate.store.schema import marketing_sends, phone_numbers, service_windows, tier_reservations
from wagate.store.send_policy import MARKETING_SENT, TIER_HELD, TIER_USED


@dataclass(slots=True)
class PrunePolicyCounts(Job[int]):
    """Forget tier places older than a day and marketing sends older than a week."""

    now: float

    def run(self, conn: Connection) -> int:
        tier = conn.execute(delete(tier_reservations).where(tier_reservations.c.at < self.now - DAY))
        sends = conn.execute(delete(marketing_sends).where(marketing_sends.c.at < self.now - WEEK))
        return int(tier.rowcount) + int(sends.rowcount)


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    """What the checks of a send to one contact would look at now, for explaining them."""

    windows: list[tuple[int, float]]  # (phone number id, when the customer last wrote to it)
    marketing_day: int
    marketing_week: int
    tier_used: int
    holds_a_place: bool


def policy_facts(conn: Connection, org_id: int, wa_id: str, now: float) -> PolicyFacts:
    windows = conn.execute(
        select(service_windows.c.phone_number_id, service_windows.c.last_inbound_at)
        .join(phone_numbers, phone_numbers.c.id == service_windows.c.phone_number_id)
        .where(phone_numbers.c.org_id == org_id, service_windows.c.wa_id == wa_id)
    ).all()
    # The statements the accepting transaction counts with, for one contact.
    contact = {"org_id": org_id, "wa_ids": [wa_id]}
    sent = [float(at) for _, at in conn.execute(MARKETING_SENT, {**contact, "since": now - WEEK})]
    used = conn.execute(TIER_USED, {"org_id": org_id, "since": now - DAY}).scalar()
    holds = conn.execute(TIER_HELD, {**contact, "since": now - DAY}).first()
    return PolicyFacts(
        windows=[(int(n), float(at)) for n, at in windows],
        marketing_day=sum(1 for at in sent if at > now - DAY),
        marketing_week=len(sent),
        tier_used=int(used or 0),
        holds_a_place=holds is not None,
    )
