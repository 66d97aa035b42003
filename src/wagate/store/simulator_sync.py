"""What the simulated network is told of: the business accounts it serves and their messaging tiers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from wagate.store.schema import business_accounts, organizations, phone_numbers


@dataclass(frozen=True, slots=True)
class SimulatedAccount:
    waba_id: int
    messaging_tier: str


def simulated_accounts(
    conn: Connection, *, waba_id: int | None = None, org_id: int | None = None
) -> list[SimulatedAccount]:
    """Business accounts with at least one number on the simulator (all, one, or an organization's)."""
    simulated = select(phone_numbers.c.waba_id).where(phone_numbers.c.upstream == "simulator")
    query = (
        select(business_accounts.c.id, organizations.c.messaging_tier)
        .join(organizations, organizations.c.id == business_accounts.c.org_id)
        .where(business_accounts.c.id.in_(simulated))
        .order_by(business_accounts.c.id)
    )
    if waba_id is not None:
        query = query.where(business_accounts.c.id == waba_id)
    if org_id is not None:
        query = query.where(business_accounts.c.org_id == org_id)
    return [SimulatedAccount(int(row.id), row.messaging_tier) for row in conn.execute(query)]
