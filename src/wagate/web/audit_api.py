"""`/api/v1/audit`: the organization's audit log, a page at a time or exported whole.

`GET /api/v1/audit?since=&until=&action=&limit=&after=&order=` answers newest first (`order=oldest` for
oldest first); `next_after` is the `after` of the next page, null on the last one. Times are Unix seconds.
`GET /api/v1/audit/export?format=jsonl|csv` answers every matching row, oldest first.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from wagate.domain.access import Scope
from wagate.services import audit as service
from wagate.services import tenancy
from wagate.services.runtime import Runtime
from wagate.web.errors import json_response

_MEDIA_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


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
