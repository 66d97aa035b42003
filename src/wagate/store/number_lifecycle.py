"""What wagate records of a number's life at Meta: code verification, registration, display-name
review. The PIN and the business profile are Meta's and are not kept here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select, update

from wagate.store.db import Job
from wagate.store.schema import phone_numbers


@dataclass(frozen=True, slots=True)
class NumberLifecycle:
    """What wagate last heard from Meta of the number; None where it has heard nothing yet."""

    code_verification_status: str | None
    name_status: str | None
    registered_at: float | None
    platform_type: str | None

    @property
    def verified(self) -> bool:
        return self.code_verification_status in (None, "VERIFIED")

    @property
    def registered(self) -> bool:
        return is_registered(self.registered_at, self.code_verification_status)


def is_registered(registered_at: float | None, code_verification_status: str | None) -> bool:
    """A number may send once registered. One wagate has heard nothing of yet (no verification status:
    added before wagate followed numbers' lives, and never refreshed) is taken as registered, as it was."""
    return registered_at is not None or code_verification_status is None


def lifecycle_of(conn: Connection, number_id: int) -> NumberLifecycle | None:
    row = conn.execute(
        select(
            phone_numbers.c.code_verification_status,
            phone_numbers.c.name_status,
            phone_numbers.c.registered_at,
            phone_numbers.c.platform_type,
        ).where(phone_numbers.c.id == number_id)
    ).first()
    if row is None:
        return None
    return NumberLifecycle(
        row.code_verification_status, row.name_status, row.registered_at, row.platform_type
    )


@dataclass(slots=True)
class RecordVerification(Job[bool]):
    """Meta accepted the number's code (or describes it as `status`)."""

    number_id: int
    status: str = "VERIFIED"

    def run(self, conn: Connection) -> bool:
        result = conn.execute(
            update(phone_numbers)
            .where(phone_numbers.c.id == self.number_id)
            .values(code_verification_status=self.status)
        )
        return bool(result.rowcount)


@dataclass(slots=True)
class RecordRegistration(Job[bool]):
    """Meta registered the number (at `registered_at`) or deregistered it (None)."""

    number_id: int
    registered_at: float | None

    def run(self, conn: Connection) -> bool:
        result = conn.execute(
            update(phone_numbers)
            .where(phone_numbers.c.id == self.number_id)
            # A registered number was verified at Meta, whether or not the code went through wagate.
            .values(
                registered_at=self.registered_at,
                code_verification_status=func.coalesce(phone_numbers.c.code_verification_status, "VERIFIED"),
            )
        )
        return bool(result.rowcount)


@dataclass(slots=True)
class RecordNameStatus(Job[bool]):
    number_id: int
    name_status: str

    def run(self, conn: Connection) -> bool:
        result = conn.execute(
            update(phone_numbers)
            .where(phone_numbers.c.id == self.number_id)
            .values(name_status=self.name_status)
        )
        return bool(result.rowcount)
