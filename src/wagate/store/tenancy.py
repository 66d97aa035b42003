"""Organizations, business accounts and phone numbers: writes and reads (tokens: `store/access.py`,
templates: `store/templates.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from wagate.domain.tenancy import Organization, PhoneNumber
from wagate.ids import new_graph_id
from wagate.store import sealed
from wagate.store.db import Job
from wagate.store.number_lifecycle import is_registered
from wagate.store.schema import (
    business_accounts,
    graph_objects,
    organizations,
    phone_numbers,
)
from wagate.store.sql import many


def allocate_graph_id(conn: Connection, kind: str, org_id: int, wanted: int | None = None) -> int:
    """Reserve an id in the one Graph id space (a `cloud` object keeps Meta's id: `wanted`)."""
    for _ in range(20):
        graph_id = wanted if wanted is not None else new_graph_id()
        try:
            with conn.begin_nested():
                conn.execute(insert(graph_objects).values(id=graph_id, kind=kind, org_id=org_id))
            return graph_id
        except IntegrityError:
            if wanted is not None:
                raise
    raise RuntimeError("could not allocate a Graph id")


@dataclass(slots=True)
class CreateOrganization(Job[Organization]):
    name: str
    slug: str
    now: float
    messaging_tier: str = "TIER_250"

    def run(self, conn: Connection) -> Organization:
        org_id = conn.execute(
            insert(organizations)
            .values(name=self.name, slug=self.slug, messaging_tier=self.messaging_tier, created_at=self.now)
            .returning(organizations.c.id)
        ).scalar_one()
        return Organization(int(org_id), self.name, self.slug, self.messaging_tier)


@dataclass(slots=True)
class CreateBusinessAccount(Job[int]):
    org_id: int
    name: str
    now: float
    graph_id: int | None = None
    access_token: str | None = None

    def run(self, conn: Connection) -> int:
        waba_id = allocate_graph_id(conn, "business_account", self.org_id, self.graph_id)
        conn.execute(
            insert(business_accounts).values(
                id=waba_id,
                org_id=self.org_id,
                name=self.name,
                created_at=self.now,
                access_token=sealed.seal_opt(conn, business_accounts.c.access_token, self.access_token),
            )
        )
        return waba_id


@dataclass(slots=True)
class CreatePhoneNumber(Job[PhoneNumber]):
    org_id: int
    waba_id: int
    display_phone_number: str
    region: str
    verified_name: str
    upstream: str
    rate: int
    now: float
    graph_id: int | None = None

    def run(self, conn: Connection) -> PhoneNumber:
        number_id = allocate_graph_id(conn, "phone_number", self.org_id, self.graph_id)
        conn.execute(
            insert(phone_numbers).values(
                id=number_id,
                org_id=self.org_id,
                waba_id=self.waba_id,
                display_phone_number=self.display_phone_number,
                region=self.region,
                verified_name=self.verified_name,
                upstream=self.upstream,
                rate=self.rate,
                created_at=self.now,
            )
        )
        return PhoneNumber(
            number_id,
            self.org_id,
            self.waba_id,
            self.display_phone_number,
            self.region,
            self.verified_name,
            self.upstream,
            self.rate,
        )


@dataclass(slots=True)
class UpdateNumberRate(Job[bool]):
    number_id: int
    rate: int

    def run(self, conn: Connection) -> bool:
        result = conn.execute(
            update(phone_numbers).where(phone_numbers.c.id == self.number_id).values(rate=self.rate)
        )
        return bool(result.rowcount)


# -- reads ------------------------------------------------------------------------------------------
def org_by_id(conn: Connection, org_id: int) -> Organization | None:
    row = conn.execute(select(organizations).where(organizations.c.id == org_id)).first()
    return None if row is None else Organization(int(row.id), row.name, row.slug, row.messaging_tier)


def org_by_slug(conn: Connection, slug: str) -> Organization | None:
    row = conn.execute(select(organizations).where(organizations.c.slug == slug)).first()
    return None if row is None else Organization(int(row.id), row.name, row.slug, row.messaging_tier)


def _number(row: Any) -> PhoneNumber:
    return PhoneNumber(
        int(row.id),
        int(row.org_id),
        int(row.waba_id),
        row.display_phone_number,
        row.region,
        row.verified_name,
        row.upstream,
        int(row.rate),
        is_registered(row.registered_at, row.code_verification_status),
    )


def number_by_id(conn: Connection, number_id: int) -> PhoneNumber | None:
    row = conn.execute(select(phone_numbers).where(phone_numbers.c.id == number_id)).first()
    return None if row is None else _number(row)


_NUMBERS = select(phone_numbers).where(phone_numbers.c.id.in_(many("ids")))


def numbers_by_id(conn: Connection, ids: set[int]) -> dict[int, PhoneNumber]:
    if not ids:
        return {}
    return {int(row.id): _number(row) for row in conn.execute(_NUMBERS, {"ids": list(ids)})}


def all_numbers(conn: Connection) -> list[PhoneNumber]:
    return [_number(row) for row in conn.execute(select(phone_numbers).order_by(phone_numbers.c.created_at))]


def numbers_of(conn: Connection, org_id: int) -> list[PhoneNumber]:
    return [
        _number(row)
        for row in conn.execute(
            select(phone_numbers).where(phone_numbers.c.org_id == org_id).order_by(phone_numbers.c.created_at)
        )
    ]


def access_token_of(conn: Connection, waba_id: int) -> str | None:
    token = conn.execute(
        select(business_accounts.c.access_token).where(business_accounts.c.id == waba_id)
    ).scalar()
    return sealed.open_opt(conn, business_accounts.c.access_token, token)


def graph_object(conn: Connection, object_id: int) -> tuple[str, int] | None:
    row = conn.execute(
        select(graph_objects.c.kind, graph_objects.c.org_id).where(graph_objects.c.id == object_id)
    ).first()
    return None if row is None else (row.kind, int(row.org_id))
