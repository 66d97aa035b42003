"""Business accounts: their Meta credentials (sealed, never read back out but to call Meta) and their
webhook subscription."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, exists, insert, select, update

from wagate.domain.tenancy import Organization
from wagate.store import sealed
from wagate.store.db import Job
from wagate.store.management import Stamp, record_change
from wagate.store.schema import business_accounts, graph_objects, organizations, phone_numbers, templates
from wagate.store.tenancy import allocate_graph_id


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: int
    org_id: int
    name: str
    created_at: float
    access_token_tail: str | None  # the last 4 characters of the token, when one is set
    app_secret_set: bool
    meta_app_id: str | None
    subscribed_at: float | None
    phone_number_ids: list[int]

    @property
    def at_meta(self) -> bool:
        """An account that exists at Meta: added with its Meta id and a token to call Meta with."""
        return self.access_token_tail is not None


def _tail(conn: Connection, sealed_token: str | None) -> str | None:
    token = sealed.open_opt(conn, business_accounts.c.access_token, sealed_token)
    return None if token is None else token[-4:]


def _accounts(conn: Connection, org_id: int, account_id: int | None = None) -> list[AccountRow]:
    query = select(business_accounts).where(business_accounts.c.org_id == org_id)
    if account_id is not None:
        query = query.where(business_accounts.c.id == account_id)
    rows = conn.execute(query.order_by(business_accounts.c.created_at, business_accounts.c.id)).all()
    numbers: dict[int, list[int]] = {}
    for number in conn.execute(
        select(phone_numbers.c.id, phone_numbers.c.waba_id)
        .where(phone_numbers.c.org_id == org_id)
        .order_by(phone_numbers.c.created_at)
    ):
        numbers.setdefault(int(number.waba_id), []).append(int(number.id))
    return [
        AccountRow(
            int(row.id),
            int(row.org_id),
            row.name,
            float(row.created_at),
            _tail(conn, row.access_token),
            row.app_secret is not None,
            row.meta_app_id,
            row.subscribed_at,
            numbers.get(int(row.id), []),
        )
        for row in rows
    ]


def accounts_of(conn: Connection, org_id: int) -> list[AccountRow]:
    return _accounts(conn, org_id)


def owner_of(conn: Connection, account_id: int) -> Organization | None:
    """The organization an account belongs to (for the operator's commands, which name no organization)."""
    row = conn.execute(
        select(organizations)
        .join(business_accounts, business_accounts.c.org_id == organizations.c.id)
        .where(business_accounts.c.id == account_id)
    ).first()
    return None if row is None else Organization(int(row.id), row.name, row.slug, row.messaging_tier)


def account_of(conn: Connection, org_id: int, account_id: int) -> AccountRow | None:
    """The account, if it is `org_id`'s."""
    found = _accounts(conn, org_id, account_id)
    return found[0] if found else None


@dataclass(slots=True)
class AddAccount(Job[int | None]):
    """A business account; with `meta_id`, the one at Meta, under Meta's id. None if that id is taken."""

    org_id: int
    name: str
    by: Stamp
    meta_id: int | None = None
    access_token: str | None = None
    app_secret: str | None = None
    meta_app_id: str | None = None

    def run(self, conn: Connection) -> int | None:
        if (
            self.meta_id is not None
            and conn.execute(select(exists().where(graph_objects.c.id == self.meta_id))).scalar()
        ):
            return None
        account_id = allocate_graph_id(conn, "business_account", self.org_id, self.meta_id)
        conn.execute(
            insert(business_accounts).values(
                id=account_id,
                org_id=self.org_id,
                name=self.name,
                created_at=self.by.at,
                access_token=sealed.seal_opt(conn, business_accounts.c.access_token, self.access_token),
                app_secret=sealed.seal_opt(conn, business_accounts.c.app_secret, self.app_secret),
                meta_app_id=self.meta_app_id,
            )
        )
        detail = {"name": self.name, "at_meta": self.meta_id is not None, "meta_app_id": self.meta_app_id}
        record_change(
            conn, self.org_id, self.by, "business_account.create", "business_account", account_id, detail
        )
        return account_id


@dataclass(slots=True)
class ChangeAccount(Job[bool]):
    """Set what `changes` holds (name, access_token, app_secret, meta_app_id); False if not `org_id`'s."""

    org_id: int
    account_id: int
    changes: dict[str, str | None]
    by: Stamp

    def run(self, conn: Connection) -> bool:
        mine = (business_accounts.c.id == self.account_id) & (business_accounts.c.org_id == self.org_id)
        if not conn.execute(select(exists().where(mine))).scalar():
            return False
        values: dict[str, Any] = {}
        for key, value in self.changes.items():
            if key in ("access_token", "app_secret"):
                values[key] = sealed.seal_opt(conn, business_accounts.c[key], value)
            else:
                values[key] = value
        if values:
            conn.execute(update(business_accounts).where(mine).values(**values))
            # Which secrets changed, never their values.
            detail = {
                k: ("(changed)" if k in ("access_token", "app_secret") else v)
                for k, v in self.changes.items()
            }
            record_change(
                conn,
                self.org_id,
                self.by,
                "business_account.update",
                "business_account",
                self.account_id,
                detail,
            )
        return True


@dataclass(slots=True)
class RemoveAccount(Job[str]):
    """Delete an account of `org_id` that has no numbers and no templates: "deleted", "not_found", or
    what it still has ("phone_numbers", "templates")."""

    org_id: int
    account_id: int
    by: Stamp

    def run(self, conn: Connection) -> str:
        mine = (business_accounts.c.id == self.account_id) & (business_accounts.c.org_id == self.org_id)
        if not conn.execute(select(exists().where(mine))).scalar():
            return "not_found"
        for table in (phone_numbers, templates):
            if conn.execute(select(exists().where(table.c.waba_id == self.account_id))).scalar():
                return table.name
        conn.execute(delete(business_accounts).where(mine))
        conn.execute(delete(graph_objects).where(graph_objects.c.id == self.account_id))
        record_change(
            conn, self.org_id, self.by, "business_account.delete", "business_account", self.account_id
        )
        return "deleted"


@dataclass(slots=True)
class RecordSubscription(Job[bool]):
    """The Meta app was subscribed to the account's webhooks at `by.at` (or unsubscribed)."""

    org_id: int
    account_id: int
    subscribed: bool
    by: Stamp
    detail: dict[str, Any] = field(default_factory=dict)

    def run(self, conn: Connection) -> bool:
        mine = (business_accounts.c.id == self.account_id) & (business_accounts.c.org_id == self.org_id)
        at = self.by.at if self.subscribed else None
        if not conn.execute(update(business_accounts).where(mine).values(subscribed_at=at)).rowcount:
            return False
        action = "business_account.subscribe" if self.subscribed else "business_account.unsubscribe"
        record_change(conn, self.org_id, self.by, action, "business_account", self.account_id, self.detail)
        return True
