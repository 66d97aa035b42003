"""API tokens: issue with scopes and expiry, list, revoke; each change written to the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wagate.domain.access import Actor, Caller, Scope, scopes_json
from wagate.domain.tenancy import Organization
from wagate.errors import ApiError
from wagate.ids import new_api_token
from wagate.store import access as sql
from wagate.store.db import Database

MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class IssuedToken:
    id: int
    token: str  # shown once; only its hash is stored
    name: str
    scopes: frozenset[Scope]
    expires_at: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "token": self.token,
            "name": self.name,
            "scopes": scopes_json(self.scopes),
            "expires_at": self.expires_at,
        }


def check_issue(name: str, scopes: frozenset[Scope], expires_in: float | None, by: Caller | None) -> None:
    """A token needs a name; a token may only hand out scopes it has itself."""
    if not name.strip() or len(name) > MAX_NAME:
        raise ApiError("invalid_parameter", f"name must be 1 to {MAX_NAME} characters", parameter="name")
    if expires_in is not None and expires_in <= 0:
        raise ApiError("invalid_parameter", "expires_in must be positive", parameter="expires_in")
    if by is not None and not scopes <= by.scopes:
        missing = scopes_json(scopes - by.scopes)
        raise ApiError(
            "forbidden",
            f"a token cannot issue scopes it lacks: {', '.join(missing)}",
            http_status=403,
            scopes=missing,
        )


def state_of(token: dict[str, Any], now: float) -> str:
    if token["revoked_at"] is not None:
        return "revoked"
    if token["expires_at"] is not None and now >= token["expires_at"]:
        return "expired"
    return "active"


async def do_issue_token(
    db: Database,
    org: Organization,
    name: str,
    scopes: frozenset[Scope],
    expires_in: float | None,
    now: float,
    by: Actor,
    issuer: Caller | None = None,
) -> IssuedToken:
    """Issue a token; `issuer`, a token issuing another over the API, may hand out only its own scopes."""
    check_issue(name, scopes, expires_in, issuer)
    token = new_api_token()
    expires_at = None if expires_in is None else now + expires_in
    token_id = await db.write(sql.IssueScopedToken(org.id, name, token, scopes, expires_at, now, by))
    return IssuedToken(token_id, token, name, scopes, expires_at)


async def list_tokens(db: Database, org: Organization, now: float) -> list[dict[str, Any]]:
    tokens = await db.read(lambda conn: sql.tokens_of(conn, org.id))
    return [{**t, "state": state_of(t, now)} for t in tokens]


async def do_revoke_token(db: Database, org: Organization, token_id: int, now: float, by: Actor) -> None:
    """Revoke one of `org`'s tokens; requests with it are refused once the token cache forgets it (5 s)."""
    if not await db.write(sql.RevokeOrgToken(org.id, token_id, now, by)):
        raise ApiError("not_found", f"no active token {token_id}", http_status=404)


def list_all_tokens(db: Database, now: float) -> list[dict[str, Any]]:
    """Every organization's tokens, for the operator of the deployment (`wagate tokens list`)."""
    return [{**t, "state": state_of(t, now)} for t in db.read_now(sql.tokens_of)]


async def do_revoke_any_token(db: Database, token_id: int, now: float, by: Actor) -> None:
    """Revoke a token of whichever organization (`wagate tokens revoke`, run on the deployment)."""
    org_id = await db.read(lambda conn: sql.org_of_token(conn, token_id))
    if org_id is None or not await db.write(sql.RevokeOrgToken(org_id, token_id, now, by)):
        raise ApiError("not_found", f"no active token {token_id}", http_status=404)
