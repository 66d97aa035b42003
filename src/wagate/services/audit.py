"""The audit log: recording a change with no job of its own, reading an organization's rows, exporting them.

Most changes write their row inside their own transaction (`wagate.store.audit.WithAudit` / `record`);
`do_record` is for the rest, e.g. a login that changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from wagate.domain.access import Actor
from wagate.errors import ApiError
from wagate.store import audit as sql
from wagate.store.audit import AuditQuery
from wagate.store.db import Database

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
EXPORT_PAGE = 1000
FORMATS = ("jsonl", "csv")
CSV_COLUMNS = ("id", "at", "actor", "action", "target_type", "target_id", "detail", "ip")


async def do_record(
    db: Database,
    org_id: int,
    by: Actor,
    action: str,
    target_type: str | None,
    target_id: str | int | None,
    at: float,
    detail: dict[str, Any] | None = None,
) -> int:
    return await db.write(sql.RecordAudit(org_id, by.name, action, target_type, target_id, at, detail, by.ip))


def _number(name: str, raw: str | None) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise ApiError("invalid_parameter", f"{name} must be Unix seconds", parameter=name) from None


def check_query(
    since: str | None = None,
    until: str | None = None,
    action: str | None = None,
    limit: str | None = None,
    after: str | None = None,
    order: str | None = None,
) -> AuditQuery:
    """Query parameters as given over HTTP (or the CLI), checked."""
    count = DEFAULT_LIMIT
    if limit:
        if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
            raise ApiError("invalid_parameter", f"limit must be between 1 and {MAX_LIMIT}", parameter="limit")
        count = int(limit)
    cursor = None
    if after:
        if not after.isdigit():
            raise ApiError("invalid_parameter", "after must be an audit entry id", parameter="after")
        cursor = int(after)
    if order not in (None, "", "newest", "oldest"):
        raise ApiError("invalid_parameter", "order must be newest or oldest", parameter="order")
    return AuditQuery(
        since=_number("since", since),
        until=_number("until", until),
        action=action or None,
        after=cursor,
        limit=count,
        oldest_first=order == "oldest",
    )


async def list_audit(db: Database, org_id: int, query: AuditQuery) -> dict[str, Any]:
    """A page of the organization's audit log and the cursor of the next (`after`), None at the end."""
    rows = await db.read(lambda conn: sql.entries_of(conn, org_id, query))
    next_after = rows[-1]["id"] if len(rows) == query.limit else None
    return {"data": rows, "next_after": next_after}


def check_format(fmt: str | None) -> str:
    if fmt not in FORMATS:
        raise ApiError("invalid_parameter", "format must be jsonl or csv", parameter="format")
    return fmt


async def export_audit(db: Database, org_id: int, fmt: str, query: AuditQuery) -> AsyncIterator[str]:
    """Every matching row, oldest first, as JSON lines or CSV (with a header line), a page at a time."""
    page = AuditQuery(query.since, query.until, query.action, None, EXPORT_PAGE, oldest_first=True)
    if fmt == "csv":
        yield _csv_line(CSV_COLUMNS)
    while True:
        rows = await db.read(partial(sql.entries_of, org_id=org_id, query=page))
        for row in rows:
            if fmt == "csv":
                yield _csv_line([_cell(row, column) for column in CSV_COLUMNS])
            else:
                yield json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n"
        if len(rows) < EXPORT_PAGE:
            return
        page = AuditQuery(page.since, page.until, page.action, rows[-1]["id"], EXPORT_PAGE, oldest_first=True)


def _cell(row: dict[str, Any], column: str) -> Any:
    value = row[column]
    if column == "detail":
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "" if value is None else value


def _csv_line(cells: Any) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()
