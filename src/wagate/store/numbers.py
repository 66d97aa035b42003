"""Business numbers as their organization manages them: added, changed, and how they stand at Meta."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update

from wagate.domain.numbers import NumberStanding
from wagate.domain.tenancy import Organization, PhoneNumber
from wagate.store.db import Job
from wagate.store.management import Stamp, record_change
from wagate.store.schema import organizations, phone_numbers
from wagate.store.tenancy import CreatePhoneNumber, graph_object, number_by_id


@dataclass(frozen=True, slots=True)
class NumberRow:
    number: PhoneNumber
    created_at: float
    messaging_tier: str | None
    quality_rating: str | None
    name_status: str | None
    code_verification_status: str | None
    platform_type: str | None
    registered_at: float | None


def _row(row: Any) -> NumberRow:
    number = PhoneNumber(
        int(row.id),
        int(row.org_id),
        int(row.waba_id),
        row.display_phone_number,
        row.region,
        row.verified_name,
        row.upstream,
        int(row.rate),
    )
    return NumberRow(
        number,
        float(row.created_at),
        row.messaging_tier,
        row.quality_rating,
        row.name_status,
        row.code_verification_status,
        row.platform_type,
        row.registered_at,
    )


def number_rows_of(conn: Connection, org_id: int) -> list[NumberRow]:
    query = select(phone_numbers).where(phone_numbers.c.org_id == org_id)
    return [_row(row) for row in conn.execute(query.order_by(phone_numbers.c.created_at, phone_numbers.c.id))]


def owner_of(conn: Connection, number_id: int) -> Organization | None:
    """The organization a number belongs to (for the operator's commands, which name no organization)."""
    row = conn.execute(
        select(organizations)
        .join(phone_numbers, phone_numbers.c.org_id == organizations.c.id)
        .where(phone_numbers.c.id == number_id)
    ).first()
    return None if row is None else Organization(int(row.id), row.name, row.slug, row.messaging_tier)


def number_row(conn: Connection, org_id: int, number_id: int) -> NumberRow | None:
    """The number, if it is `org_id`'s."""
    row = conn.execute(
        select(phone_numbers).where(phone_numbers.c.id == number_id, phone_numbers.c.org_id == org_id)
    ).first()
    return None if row is None else _row(row)


@dataclass(slots=True)
class AddNumber(Job[PhoneNumber | None]):
    """The number; None if its Meta id is in wagate already."""

    create: CreatePhoneNumber
    by: Stamp

    def run(self, conn: Connection) -> PhoneNumber | None:
        wanted = self.create.graph_id
        if wanted is not None and graph_object(conn, wanted) is not None:
            return None
        number = self.create.run(conn)
        detail = {
            "waba_id": str(number.waba_id),
            "display_phone_number": number.display_phone_number,
            "upstream": number.upstream,
            "rate": number.rate,
        }
        record_change(conn, number.org_id, self.by, "number.create", "phone_number", number.id, detail)
        return number


@dataclass(slots=True)
class ChangeNumber(Job[PhoneNumber | None]):
    """Set what `changes` holds (rate, upstream, verified_name); None if the number is not `org_id`'s."""

    org_id: int
    number_id: int
    changes: dict[str, Any]
    by: Stamp

    def run(self, conn: Connection) -> PhoneNumber | None:
        before = number_by_id(conn, self.number_id)
        if before is None or before.org_id != self.org_id:
            return None
        changed = {
            k: {"from": getattr(before, k), "to": v}
            for k, v in self.changes.items()
            if getattr(before, k) != v
        }
        if changed:
            conn.execute(
                update(phone_numbers).where(phone_numbers.c.id == self.number_id).values(**self.changes)
            )
            record_change(
                conn, self.org_id, self.by, "number.update", "phone_number", self.number_id, changed
            )
        return number_by_id(conn, self.number_id)


@dataclass(slots=True)
class RecordStanding(Job[bool]):
    """What Meta (or the simulator) just said of the number; fields it did not say are kept."""

    org_id: int
    number_id: int
    standing: NumberStanding
    by: Stamp

    def run(self, conn: Connection) -> bool:
        changes: dict[str, Any] = self.standing.changes()
        detail = dict(changes)
        if self.standing.connected is not None:
            detail["connected"] = self.standing.connected
            # Registered since it was first seen connected (a number wagate had not followed counts as
            # registered until Meta says otherwise: store/number_lifecycle.py).
            changes["registered_at"] = (
                func.coalesce(phone_numbers.c.registered_at, self.by.at) if self.standing.connected else None
            )
        mine = (phone_numbers.c.id == self.number_id) & (phone_numbers.c.org_id == self.org_id)
        if changes and not conn.execute(update(phone_numbers).where(mine).values(**changes)).rowcount:
            return False
        record_change(conn, self.org_id, self.by, "number.refresh", "phone_number", self.number_id, detail)
        return True
