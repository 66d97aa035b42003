"""`/api/v1/audit`: the organization's audit log, a page at a time or exported whole.

`GET /api/v1/audit?since=&until=&action=&limit=&after=&order=` answers newest first (`order=oldest` for
oldest first); `next_after` is the `after` of the next page, null on the last one. Times are Unix seconds.
`GET /api/v1/audit/export?format=jsonl|csv` answers every matching row, oldest first.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from wagate.domain.access import Scope
from wagate.services import audit as service
from wagate.services import tenancy
from wagate.services.runtime import Runtime
from wagate.web.errors import json_response
from wagate.web.operations import Answer, Operation, Surface, query

_MEDIA_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


class AuditEntry(msgspec.Struct, forbid_unknown_fields=True):
    id: int
    at: float
    actor: str  # token:12 | cli | operator:3 | ...
    action: str  # token.issue | template.create | login.failure | ...
    target_type: str | None
    target_id: str | None
    detail: dict[str, Any]
    ip: str | None


class AuditPage(msgspec.Struct, forbid_unknown_fields=True):
    data: list[AuditEntry]
    next_after: int | None  # the next page's `after`; null on the last page


async def audit(request: Request) -> Response:
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.MANAGE)
    params = request.query_params
    query = service.check_query(
        params.get("since"),
        params.get("until"),
        params.get("action"),
        params.get("limit"),
        params.get("after"),
        params.get("order"),
    )
    return json_response(await service.list_audit(rt.db, caller.org.id, query))


async def export(request: Request) -> Response:
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.MANAGE)
    params = request.query_params
    fmt = service.check_format(params.get("format", "jsonl"))
    query = service.check_query(params.get("since"), params.get("until"), params.get("action"))
    lines = service.export_audit(rt.db, caller.org.id, fmt, query)
    filename = f"audit-{caller.org.slug}.{fmt}"
    return StreamingResponse(
        lines,
        media_type=_MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def routes() -> list[Route]:
    return [
        Route("/api/v1/audit", audit, methods=["GET"]),
        Route("/api/v1/audit/export", export, methods=["GET"]),
    ]


_SINCE = query("since", "Only entries at or after this time (Unix seconds)", float)
_UNTIL = query("until", "Only entries before this time (Unix seconds)", float)
_ACTION = query("action", "Only entries of this action", example="token.issue")


def operations() -> list[Operation]:
    return [
        Operation(
            "GET",
            "/api/v1/audit",
            "listAudit",
            "The audit log, a page at a time, newest first",
            "Audit",
            (Answer(200, "A page of entries", AuditPage),),
            Surface.API,
            scope=Scope.MANAGE,
            params=(
                _SINCE,
                _UNTIL,
                _ACTION,
                query("limit", f"Page size, 1 to {service.MAX_LIMIT} (default {service.DEFAULT_LIMIT})", int),
                query("after", "The next_after of the previous page", int),
                query("order", "newest (the default) or oldest first"),
            ),
        ),
        Operation(
            "GET",
            "/api/v1/audit/export",
            "exportAudit",
            "Every matching audit entry, oldest first, as JSON lines or CSV",
            "Audit",
            (
                Answer(
                    200,
                    "The entries, one per line (CSV: after a header line); an attachment",
                    media_type="application/x-ndjson",
                    also=("text/csv",),
                    schema={"type": "string"},
                    headers={"Content-Disposition": "attachment; filename=audit-<slug>.<format>"},
                ),
            ),
            Surface.API,
            description="`format=csv` answers text/csv with the columns "
            + ", ".join(service.CSV_COLUMNS)
            + ".",
            scope=Scope.MANAGE,
            params=(query("format", "jsonl (the default) or csv"), _SINCE, _UNTIL, _ACTION),
        ),
    ]
