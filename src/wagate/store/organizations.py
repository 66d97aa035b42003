"""Organizations as a whole: their name, what they hold, and new ones with their first token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update

from wagate.domain.tenancy import Organization
from wagate.store.access import IssueToken
from wagate.store.db import Job
from wagate.store.management import Stamp, record_change
from wagate.store.schema import api_tokens, business_accounts, organizations, phone_numbers, templates
from wagate.store.tenancy import CreateOrganization, org_by_slug


@dataclass(frozen=True, slots=True)
class OrganizationSummary:
    id: int
    name: str
    slug: str
    messaging_tier: str
    created_at: float
    business_accounts: int
    phone_numbers: int
    templates: int
    active_tokens: int


def _count(table: Any, org_id_column: Any) -> Any:
    return (
        select(func.count()).select_from(table).where(org_id_column == organizations.c.id).scalar_subquery()
    )


_SUMMARY = select(
    organizations,
    _count(business_accounts, business_accounts.c.org_id).label("n_accounts"),
    _count(phone_numbers, phone_numbers.c.org_id).label("n_numbers"),
    _count(templates, templates.c.org_id).label("n_templates"),
    select(func.count())
    .select_from(api_tokens)
    .where(api_tokens.c.org_id == organizations.c.id, api_tokens.c.revoked_at.is_(None))
    .scalar_subquery()
    .label("n_tokens"),
)


def _summary(row: Any) -> OrganizationSummary:
    return OrganizationSummary(
        int(row.id),
        row.name,
        row.slug,
        row.messaging_tier,
        float(row.created_at),
        int(row.n_accounts),
        int(row.n_numbers),
        int(row.n_templates),
        int(row.n_tokens),
    )


def summary_of(conn: Connection, org_id: int) -> OrganizationSummary | None:
    row = conn.execute(_SUMMARY.where(organizations.c.id == org_id)).first()
    return None if row is None else _summary(row)


def all_summaries(conn: Connection) -> list[OrganizationSummary]:
    return [_summary(row) for row in conn.execute(_SUMMARY.order_by(organizations.c.id))]


@dataclass(slots=True)
class RenameOrganization(Job[bool]):
    org_id: int
    name: str
    by: Stamp

    def run(self, conn: Connection) -> bool:
        before = conn.execute(select(organizations.c.name).where(organizations.c.id == self.org_id)).scalar()
        if before is None:
            return False
        if before != self.name:
            conn.execute(
                update(organizations).where(organizations.c.id == self.org_id).values(name=self.name)
            )
            detail = {"name": {"from": before, "to": self.name}}
            record_change(
                conn, self.org_id, self.by, "organization.update", "organization", self.org_id, detail
            )
        return True


@dataclass(slots=True)
class OpenOrganization(Job[Organization | None]):
    """A new organization and its first API token, together; None if the slug is taken."""

    name: str
    slug: str
    messaging_tier: str
    token: str
    by: Stamp

    def run(self, conn: Connection) -> Organization | None:
        if org_by_slug(conn, self.slug) is not None:
            return None
        org = CreateOrganization(self.name, self.slug, self.by.at, self.messaging_tier).run(conn)
        token_id = IssueToken(org.id, "first", self.token, self.by.at).run(conn)
        detail = {"name": self.name, "slug": self.slug, "messaging_tier": self.messaging_tier}
        record_change(conn, org.id, self.by, "organization.create", "organization", org.id, detail)
        record_change(conn, org.id, self.by, "token.issue", "token", token_id, {"name": "first"})
        return org
