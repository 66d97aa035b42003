"""Operators: created, enrolled in two-factor login, logged in (a session token) or refused; each step
written to the audit log in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from wagate.domain.access import SESSION_SCOPES, Actor
from wagate.domain.operators import FAILURE_WINDOW, LOCKOUT_SECONDS, should_lock
from wagate.store import audit, sealed
from wagate.store.access import IssueScopedToken
from wagate.store.db import Job
from wagate.store.schema import operators

TOKEN_NAME_MAX = 100  # api_tokens.name: a long e-mail is cut in its session token's name


@dataclass(frozen=True, slots=True)
class Operator:
    id: int
    org_id: int
    email: str
    password_hash: str
    totp_secret: str | None
    totp_enabled: bool
    last_totp_step: int | None
    locked_until: float | None
    created_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "totp_enabled": self.totp_enabled,
            "created_at": self.created_at,
        }


def _operator(conn: Connection, row: Any) -> Operator:
    return Operator(
        int(row.id),
        int(row.org_id),
        row.email,
        row.password_hash,
        sealed.open_opt(conn, operators.c.totp_secret, row.totp_secret),
        bool(row.totp_enabled),
        None if row.last_totp_step is None else int(row.last_totp_step),
        row.locked_until,
        row.created_at,
    )


@dataclass(slots=True)
class CreateOperator(Job[Operator | None]):
    """A new operator; None when the organization has one with that e-mail."""

    org_id: int
    email: str
    password_hash: str
    now: float
    by: Actor

    def run(self, conn: Connection) -> Operator | None:
        try:
            with conn.begin_nested():
                operator_id = conn.execute(
                    insert(operators)
                    .values(
                        org_id=self.org_id,
                        email=self.email,
                        password_hash=self.password_hash,
                        created_at=self.now,
                    )
                    .returning(operators.c.id)
                ).scalar_one()
        except IntegrityError:
            return None
        audit.record(
            conn,
            self.org_id,
            self.by.name,
            "operator.create",
            "operator",
            operator_id,
            {"email": self.email},
            self.by.ip,
            at=self.now,
        )
        return Operator(
            int(operator_id), self.org_id, self.email, self.password_hash, None, False, None, None, self.now
        )


@dataclass(slots=True)
class BeginTotp(Job[bool]):
    """Give an operator without two-factor login a new secret, not yet enabled; False if it has one on."""

    org_id: int
    operator_id: int
    secret: str
    now: float
    by: Actor

    def run(self, conn: Connection) -> bool:
        changed = conn.execute(
            update(operators)
            .where(
                operators.c.id == self.operator_id,
                operators.c.org_id == self.org_id,
                operators.c.totp_enabled == 0,
            )
            .values(totp_secret=sealed.seal(conn, operators.c.totp_secret, self.secret), last_totp_step=None)
        ).rowcount
        if changed:
            audit.record(
                conn,
                self.org_id,
                self.by.name,
                "operator.totp_begin",
                "operator",
                self.operator_id,
                None,
                self.by.ip,
                at=self.now,
            )
        return bool(changed)


def _use_step(conn: Connection, operator_id: int, step: int) -> bool:
    """Record `step` as the operator's last accepted code; False when a code of it (or later) was used."""
    return bool(
        conn.execute(
            update(operators)
            .where(
                operators.c.id == operator_id,
                or_(operators.c.last_totp_step.is_(None), operators.c.last_totp_step < step),
            )
            .values(last_totp_step=step)
        ).rowcount
    )


@dataclass(slots=True)
class ConfirmTotp(Job[bool]):
    """Turn two-factor login on with the step of a valid code; False when that code was used already."""

    org_id: int
    operator_id: int
    step: int
    now: float
    by: Actor

    def run(self, conn: Connection) -> bool:
        if not _use_step(conn, self.operator_id, self.step):
            return False
        conn.execute(update(operators).where(operators.c.id == self.operator_id).values(totp_enabled=1))
        audit.record(
            conn,
            self.org_id,
            self.by.name,
            "operator.totp_enable",
            "operator",
            self.operator_id,
            None,
            self.by.ip,
            at=self.now,
        )
        return True


@dataclass(slots=True)
class LogIn(Job[int | None]):
    """A login that passed its checks: use the code's step, issue the session token, record the success.
    None when the code's step was used meanwhile (the same code sent twice at once)."""

    operator: Operator
    step: int | None
    token: str
    expires_at: float
    now: float
    ip: str | None

    def run(self, conn: Connection) -> int | None:
        op = self.operator
        if self.step is not None and not _use_step(conn, op.id, self.step):
            return None
        by = Actor(f"operator:{op.id}", self.ip)
        token_id = IssueScopedToken(
            op.org_id,
            f"session:{op.email}"[:TOKEN_NAME_MAX],
            self.token,
            SESSION_SCOPES,
            self.expires_at,
            self.now,
            by,
        ).run(conn)
        audit.record(
            conn,
            op.org_id,
            by.name,
            "login.success",
            "operator",
            op.id,
            {"token_id": token_id},
            self.ip,
            at=self.now,
        )
        return token_id


@dataclass(slots=True)
class LoginFailed(Job[bool]):
    """Record a failed login (`reason` is for the audit log only); lock the operator out when it has
    failed too often lately. True when this failure locked it."""

    org_id: int
    operator_id: int | None
    email: str
    reason: str
    now: float
    ip: str | None

    def run(self, conn: Connection) -> bool:
        actor = "anonymous" if self.operator_id is None else f"operator:{self.operator_id}"
        detail = {"email": self.email, "reason": self.reason}
        audit.record(
            conn,
            self.org_id,
            actor,
            "login.failure",
            "operator",
            self.operator_id,
            detail,
            self.ip,
            at=self.now,
        )
        if self.operator_id is None or self.reason == "locked":
            return False
        failures = audit.count_since(
            conn, self.org_id, "login.failure", "operator", str(self.operator_id), self.now - FAILURE_WINDOW
        )
        if not should_lock(failures):
            return False
        until = self.now + LOCKOUT_SECONDS
        conn.execute(update(operators).where(operators.c.id == self.operator_id).values(locked_until=until))
        audit.record(
            conn,
            self.org_id,
            "system",
            "login.lockout",
            "operator",
            self.operator_id,
            {"until": until, "failures": failures},
            self.ip,
            at=self.now,
        )
        return True


# -- reads ------------------------------------------------------------------------------------------
def operator_by_email(conn: Connection, org_id: int, email: str) -> Operator | None:
    row = conn.execute(
        select(operators).where(operators.c.org_id == org_id, operators.c.email == email)
    ).first()
    return None if row is None else _operator(conn, row)


def operator_by_id(conn: Connection, org_id: int, operator_id: int) -> Operator | None:
    row = conn.execute(
        select(operators).where(operators.c.org_id == org_id, operators.c.id == operator_id)
    ).first()
    return None if row is None else _operator(conn, row)


def operators_of(conn: Connection, org_id: int) -> list[Operator]:
    rows = conn.execute(select(operators).where(operators.c.org_id == org_id).order_by(operators.c.id))
    return [_operator(conn, row) for row in rows]
