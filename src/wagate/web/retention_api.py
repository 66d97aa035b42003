"""`/api/v1/retention` and `/api/v1/erasures`: how long the organization keeps messages and media, what
retention deleted, and the record of erased contacts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope, scope_of
from wagate.services import retention as service
from wagate.services import tenancy
from wagate.services.conversations import check_page
from wagate.services.runtime import Runtime
from wagate.web.callers import actor_of
from wagate.web.errors import json_response


async def retention(request: Request) -> Response:
    """The periods (GET), or some of them changed (PATCH; null goes back to the default)."""
    rt: Runtime = request.app.state.rt
    scope = scope_of(request.method, Scope.MANAGE)
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), scope)
    if request.method == "PATCH":
        by = actor_of(request, caller)
        return json_response(await service.do_change_retention(rt, caller.org, await request.body(), by))
    return json_response(await service.get_retention(rt, caller.org))


async def retention_runs(request: Request) -> Response:
    """What each run of the retention worker deleted, newest first."""
    rt: Runtime = request.app.state.rt
    org = (await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.READ)).org
    limit, offset = check_page(request.query_params.get("limit"), request.query_params.get("offset"))
    data = await service.list_runs(rt, org, limit, offset)
    return json_response({"data": data, "paging": {"limit": limit, "offset": offset}})


async def erasures(request: Request) -> Response:
    """Contacts erased on request, newest first."""
    rt: Runtime = request.app.state.rt
    org = (await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.READ)).org
    limit, offset = check_page(request.query_params.get("limit"), request.query_params.get("offset"))
    data = await service.list_erasures(rt, org, limit, offset)
    return json_response({"data": data, "paging": {"limit": limit, "offset": offset}})


def routes() -> list[Route]:
    return [
        Route("/api/v1/retention", retention, methods=["GET", "PATCH"]),
        Route("/api/v1/retention/runs", retention_runs, methods=["GET"]),
        Route("/api/v1/erasures", erasures, methods=["GET"]),
    ]
