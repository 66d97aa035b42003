"""API tokens with scopes and expiry: issue, revoke, look up; every change beside its audit row."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from wagate.domain.access import ALL_SCOPES, Actor, Caller, Scope, parse_scopes, scopes_json
from wagate.domain.tenancy import Organization
from wagate.ids import hash_token
from wagate.store import audit
from wagate.store.db import Job
from wagate.store.schema import api_tokens, organizations


@dataclass(slots=True)
class IssueScopedToken(Job[int]):
    org_id: int
    name: str
    token: str
    scopes: frozenset[Scope]
    expires_at: float | None
    now: float
    by: Actor

    def run(self, conn: Connection) -> int:
        scopes = json.dumps(scopes_json(self.scopes))
        token_id = insert_token(conn, self.org_id, self.name, self.token, self.now, scopes, self.expires_at)
        detail = {"name": self.name, "scopes": scopes_json(self.scopes), "expires_at": self.expires_at}
        audit.record(
            conn, self.org_id, self.by.name, "token.issue", "token", token_id, detail, self.by.ip, at=self.now
        )
        return token_id


@dataclass(slots=True)
class RevokeOrgToken(Job[bool]):
    """Revoke an active token of `org_id`; False when it has none by that id."""

    org_id: int
    token_id: int
    now: float
    by: Actor

    def run(self, conn: Connection) -> bool:
        revoked = conn.execute(
            update(api_tokens)
            .where(
                api_tokens.c.id == self.token_id,
                api_tokens.c.org_id == self.org_id,
                api_tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=self.now)
        ).rowcount
        if revoked:
            audit.record(
                conn,
                self.org_id,
                self.by.name,
                "token.revoke",
                "token",
                self.token_id,
                None,
                self.by.ip,
                at=self.now,
            )
        return bool(revoked)


@dataclass(slots=True)
class TouchToken(Job[None]):
    token_id: int
    now: float

    def run(self, conn: Connection) -> None:
        conn.execute(update(api_tokens).where(api_tokens.c.id == self.token_id).values(last_used_at=self.now))


# -- reads ------------------------------------------------------------------------------------------
def _scopes(raw: str | None) -> frozenset[Scope]:
    return ALL_SCOPES if raw is None else parse_scopes(json.loads(raw))


def caller_by_token(conn: Connection, token: str) -> Caller | None:
    """The organization and grants of an unrevoked token (expired or not: the caller decides)."""
    row = conn.execute(
        select(
            organizations.c.id,
            organizations.c.name,
            organizations.c.slug,
            organizations.c.messaging_tier,
            api_tokens.c.id.label("token_id"),
            api_tokens.c.scopes,
            api_tokens.c.expires_at,
        )
        .join(api_tokens, api_tokens.c.org_id == organizations.c.id)
        .where(api_tokens.c.token_hash == hash_token(token), api_tokens.c.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    org = Organization(int(row.id), row.name, row.slug, row.messaging_tier)
    return Caller(org, int(row.token_id), _scopes(row.scopes), row.expires_at)


def tokens_of(conn: Connection, org_id: int | None = None) -> list[dict[str, Any]]:
    """Tokens (of one organization, or all) without their secret, oldest first."""
    query = (
        select(
            api_tokens.c.id,
            api_tokens.c.name,
            api_tokens.c.prefix,
            api_tokens.c.scopes,
            api_tokens.c.created_at,
            api_tokens.c.expires_at,
            api_tokens.c.last_used_at,
            api_tokens.c.revoked_at,
            organizations.c.slug,
        )
        .join(organizations, organizations.c.id == api_tokens.c.org_id)
        .order_by(api_tokens.c.id)
    )
    if org_id is not None:
        query = query.where(api_tokens.c.org_id == org_id)
    rows = conn.execute(query).mappings()
    return [{**row, "scopes": scopes_json(_scopes(row["scopes"]))} for row in rows]


def org_of_token(conn: Connection, token_id: int) -> int | None:
    return conn.execute(select(api_tokens.c.org_id).where(api_tokens.c.id == token_id)).scalar()


@dataclass(slots=True)
class IssueToken(Job[int]):
    """A token with every scope and no expiry, without an audit row of its own (an organization's first
    token, written beside the organization's creation and its audit; bootstrap and tests)."""

    org_id: int
    name: str
    token: str
    now: float

    def run(self, conn: Connection) -> int:
        return insert_token(conn, self.org_id, self.name, self.token, self.now)


def insert_token(
    conn: Connection,
    org_id: int,
    name: str,
    token: str,
    now: float,
    scopes: str | None = None,
    expires_at: float | None = None,
) -> int:
    """Store a token by its hash (and its first characters, to tell it apart); returns its id.
    No `scopes` (JSON) means every scope, as for the tokens made before scopes existed."""
    return int(
        conn.execute(
            insert(api_tokens)
            .values(
                org_id=org_id,
                name=name,
                token_hash=hash_token(token),
                prefix=token[:12],
                created_at=now,
                scopes=scopes,
                expires_at=expires_at,
            )
            .returning(api_tokens.c.id)
        ).scalar_one()
    )


def org_by_token(conn: Connection, token: str) -> Organization | None:
    row = conn.execute(
        select(organizations.c.id, organizations.c.name, organizations.c.slug, organizations.c.messaging_tier)
        .join(api_tokens, api_tokens.c.org_id == organizations.c.id)
        .where(api_tokens.c.token_hash == hash_token(token), api_tokens.c.revoked_at.is_(None))
    ).first()
    return None if row is None else Organization(int(row.id), row.name, row.slug, row.messaging_tier)
