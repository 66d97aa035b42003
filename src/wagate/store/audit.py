"""The audit log: who changed what in an organization, written in the same transaction as the change.

Inside any job's `run(conn)`, write the row beside the change so both commit together:

    record(conn, org_id, actor, action, target_type, target_id, detail=None, ip=None, at=now)

- `actor` says who: `token:<id>` (an API token), `cli`, `operator:<id>`, `system`.
- `action` is `<resource>.<verb>`: `token.issue`, `template.create`, `policy.update`, `login.failure`, ...
- `target_type` / `target_id` name what was changed (`"token"`, `"12"`); either may be None.
- `detail` is a small JSON-able dict; never put a secret (token, password, TOTP secret, key) in it.
- `ip` is the client's address when the change came over HTTP.

`RecordAudit` is the same as a job of its own, for a change that has no job to ride along with, and
`WithAudit(change, org_id, actor, at, entry)` wraps an existing job: it runs `change`, then writes the row
`entry(result)` describes (none when it returns None, e.g. nothing was found to change).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, func, insert, select

from wagate.domain.access import Actor
from wagate.store.db import Job
from wagate.store.schema import audit_log

T = TypeVar("T")


def record(
    conn: Connection,
    org_id: int,
    actor: str,
    action: str,
    target_type: str | None,
    target_id: str | int | None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
    *,
    at: float,
) -> int:
    """Write one audit row in `conn`'s transaction; its id."""
    return int(
        conn.execute(
            insert(audit_log)
            .values(
                org_id=org_id,
                at=at,
                actor=actor,
                action=action,
                target_type=target_type,
                target_id=None if target_id is None else str(target_id),
                detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
                ip=ip,
            )
            .returning(audit_log.c.id)
        ).scalar_one()
    )


@dataclass(slots=True)
class RecordAudit(Job[int]):
    org_id: int
    actor: str
    action: str
    target_type: str | None
    target_id: str | int | None
    at: float
    detail: dict[str, Any] | None = None
    ip: str | None = None

    def run(self, conn: Connection) -> int:
        return record(
            conn,
            self.org_id,
            self.actor,
            self.action,
            self.target_type,
            self.target_id,
            self.detail,
            self.ip,
            at=self.at,
        )


@dataclass(frozen=True, slots=True)
class Entry:
    """What one audit row says about a change (the who, where and when come from `WithAudit`)."""

    action: str
    target_type: str | None
    target_id: str | int | None
    detail: dict[str, Any] | None = None


@dataclass(slots=True)
class WithAudit(Job[T]):
    """Run `change` and write its audit row in the same transaction: both commit or neither does."""

    change: Job[T]
    org_id: int
    by: Actor
    at: float
    entry: Callable[[T], Entry | None]

    def run(self, conn: Connection) -> T:
        # Through `run_batch`, so that a job of a batched class runs as it would in a group commit.
        result: T = type(self.change).run_batch(conn, [self.change])[0]
        entry = self.entry(result)
        if entry is not None:
            record(
                conn,
                self.org_id,
                self.by.name,
                entry.action,
                entry.target_type,
                entry.target_id,
                entry.detail,
                self.by.ip,
                at=self.at,
            )
        return result


# -- reads ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AuditQuery:
    since: float | None = None
    until: float | None = None
    action: str | None = None
    after: int | None = None  # the last id of the previous page
    limit: int = 100
    oldest_first: bool = False


def _row(row: Any) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "at": float(row.at),
        "actor": row.actor,
        "action": row.action,
        "target_type": row.target_type,
        "target_id": row.target_id,
        "detail": json.loads(row.detail),
        "ip": row.ip,
    }


def entries_of(conn: Connection, org_id: int, query: AuditQuery) -> list[dict[str, Any]]:
    """A page of `org_id`'s audit rows, newest first (by id) unless `oldest_first`."""
    stmt = select(audit_log).where(audit_log.c.org_id == org_id)
    if query.since is not None:
        stmt = stmt.where(audit_log.c.at >= query.since)
    if query.until is not None:
        stmt = stmt.where(audit_log.c.at < query.until)
    if query.action is not None:
        stmt = stmt.where(audit_log.c.action == query.action)
    if query.oldest_first:
        if query.after is not None:
            stmt = stmt.where(audit_log.c.id > query.after)
        stmt = stmt.order_by(audit_log.c.id)
    else:
        if query.after is not None:
            stmt = stmt.where(audit_log.c.id < query.after)
        stmt = stmt.order_by(audit_log.c.id.desc())
    return [_row(row) for row in conn.execute(stmt.limit(query.limit))]


def count_since(
    conn: Connection, org_id: int, action: str, target_type: str, target_id: str, since: float
) -> int:
    """How many `action` rows about one target were written at or after `since`."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(audit_log)
            .where(
                audit_log.c.org_id == org_id,
                audit_log.c.action == action,
                audit_log.c.target_type == target_type,
                audit_log.c.target_id == target_id,
                audit_log.c.at >= since,
            )
        ).scalar_one()
    )
