"""Operators: create one, enrol it in two-factor login (TOTP), log it in for a session token.

A login answers the same 401 whatever failed (organization, e-mail, password, code, a code used twice),
so it tells a guesser nothing; the audit log records which it was. After `MAX_FAILURES` failures in
`FAILURE_WINDOW` an operator is locked out for `LOCKOUT_SECONDS` (429)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from wagate.domain import operators as rules
from wagate.domain import totp
from wagate.domain.access import SESSION_SCOPES, SESSION_SECONDS, Actor, scopes_json
from wagate.domain.tenancy import Organization
from wagate.errors import ApiError, not_found
from wagate.ids import new_api_token, parse_id
from wagate.store import operators as sql
from wagate.store import tenancy as tenancy_sql
from wagate.store.db import Database
from wagate.store.operators import Operator

ISSUER = "wagate"


def _credential(check: Any, value: str, field: str) -> str:
    try:
        return str(check(value))
    except rules.CredentialError as exc:
        raise ApiError("invalid_parameter", str(exc), parameter=field) from exc


async def do_create_operator(
    db: Database, org: Organization, email: str, password: str, now: float, by: Actor
) -> Operator:
    email = _credential(rules.check_email, email, "email")
    password = _credential(rules.check_password, password, "password")
    # scrypt is slow on purpose: off the event loop.
    password_hash = await asyncio.to_thread(rules.hash_password, password)
    created = await db.write(sql.CreateOperator(org.id, email, password_hash, now, by))
    if created is None:
        raise ApiError("operator_exists", f"an operator with e-mail {email} exists", http_status=409)
    return created


async def list_operators(db: Database, org: Organization) -> list[dict[str, Any]]:
    return [operator.to_json() for operator in await db.read(lambda conn: sql.operators_of(conn, org.id))]


async def access_operator(db: Database, org: Organization, raw_id: str) -> Operator:
    found, operator_id = None, parse_id(raw_id)
    if operator_id is not None:
        found = await db.read(lambda conn: sql.operator_by_id(conn, org.id, operator_id))
    if found is None:
        raise not_found(f"operator {raw_id}")
    return found


async def do_begin_totp(
    db: Database, org: Organization, raw_id: str, now: float, by: Actor
) -> dict[str, str]:
    """A new secret for the operator's authenticator app; login needs no code until it is confirmed."""
    operator = await access_operator(db, org, raw_id)
    secret = totp.new_secret()
    if not await db.write(sql.BeginTotp(org.id, operator.id, secret, now, by)):
        raise ApiError("totp_enabled", "two-factor login is on for this operator already", http_status=409)
    return {
        "secret": secret,
        "otpauth_uri": totp.provisioning_uri(secret, f"{org.slug}/{operator.email}", ISSUER),
    }


async def do_confirm_totp(
    db: Database, org: Organization, raw_id: str, code: str, now: float, by: Actor
) -> dict[str, Any]:
    """Turn two-factor login on, given a code the operator's app shows for the new secret."""
    operator = await access_operator(db, org, raw_id)
    if operator.totp_enabled:
        raise ApiError("totp_enabled", "two-factor login is on for this operator already", http_status=409)
    if operator.totp_secret is None:
        raise ApiError("totp_not_begun", "begin enrolment first: POST .../totp", http_status=409)
    step = totp.verify(operator.totp_secret, code, now, last_step=operator.last_totp_step)
    if step is None or not await db.write(sql.ConfirmTotp(org.id, operator.id, step, now, by)):
        raise ApiError("invalid_code", "the code is not the one the authenticator app shows now")
    return {**operator.to_json(), "totp_enabled": True}


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    token_id: int
    operator_id: int
    expires_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "token_id": self.token_id,
            "operator_id": self.operator_id,
            "scopes": scopes_json(SESSION_SCOPES),
            "expires_at": self.expires_at,
        }


def _refused() -> ApiError:
    return ApiError("invalid_credentials", "the e-mail, password or code is wrong", http_status=401)


async def do_login(
    db: Database, slug: str, email: str, password: str, code: str | None, now: float, ip: str | None
) -> Session:
    org = await db.read(lambda conn: tenancy_sql.org_by_slug(conn, slug))
    email = email.strip().lower()
    operator = None if org is None else await db.read(lambda conn: sql.operator_by_email(conn, org.id, email))
    if operator is not None and rules.locked(operator.locked_until, now):
        await db.write(sql.LoginFailed(operator.org_id, operator.id, email, "locked", now, ip))
        raise ApiError(
            "too_many_attempts",
            "too many failed logins: try again later",
            http_status=429,
            retry_after=int((operator.locked_until or now) - now) + 1,
        )
    stored = rules.DUMMY_HASH if operator is None else operator.password_hash
    password_ok = await asyncio.to_thread(rules.verify_password, password, stored)
    if org is None:
        raise _refused()  # no organization to write the audit row to
    if operator is None:
        await db.write(sql.LoginFailed(org.id, None, email, "unknown_operator", now, ip))
        raise _refused()
    reason, step = _second_factor(operator, code, now)
    if not password_ok:
        reason = "wrong_password"
    if reason is None:
        token = new_api_token()
        expires_at = now + SESSION_SECONDS
        token_id = await db.write(sql.LogIn(operator, step, token, expires_at, now, ip))
        if token_id is not None:
            return Session(token, token_id, operator.id, expires_at)
        reason = "replayed_code"
    await db.write(sql.LoginFailed(org.id, operator.id, email, reason, now, ip))
    raise _refused()


def _second_factor(operator: Operator, code: str | None, now: float) -> tuple[str | None, int | None]:
    """Why the code fails (None when it passes or none is needed), and the step of a good one."""
    if not operator.totp_enabled or operator.totp_secret is None:
        return None, None
    if not code:
        return "code_required", None
    step = totp.verify(operator.totp_secret, code, now, last_step=operator.last_totp_step)
    if step is not None:
        return None, step
    if totp.verify(operator.totp_secret, code, now) is not None:
        return "replayed_code", None
    return "wrong_code", None
