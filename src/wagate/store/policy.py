"""Reads and housekeeping for the policy checks: windows, tier places, marketing sends."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, select

from wagate.domain.policy import DAY, WEEK
from wagate.store.db import Job
from wagate.store.schema import marketing_sends, service_windows, tier_reservations


def last_inbound(conn: Connection, number_id: int, wa_id: str) -> float | None:
    """When the customer last wrote to the number, or None."""
    found = conn.execute(
        select(service_windows.c.last_inbound_at).where(
            service_windows.c.phone_number_id == number_id, service_windows.c.wa_id == wa_id
        )
    ).scalar()
    return None if found is None else float(found)


@dataclass(slots=True)
class PrunePolicyCounts(Job[int]):
    """Forget tier places older than a day and marketing sends older than a week."""

    now: float

    def run(self, conn: Connection) -> int:
        tier = conn.execute(delete(tier_reservations).where(tier_reservations.c.at < self.now - DAY))
        sends = conn.execute(delete(marketing_sends).where(marketing_sends.c.at < self.now - WEEK))
        return int(tier.rowcount) + int(sends.rowcount)
