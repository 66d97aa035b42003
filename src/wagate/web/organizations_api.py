"""`/api/v1/organization`: the token's own organization, its name and what it holds."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Actor, Scope, scope_of
from wagate.domain.tenancy import Organization
from wagate.services import organizations as service
from wagate.services import tenancy
from wagate.services.runtime import Runtime
from wagate.web.callers import actor_of
from wagate.web.errors import json_response


async def manager(request: Request) -> tuple[Runtime, Organization, Actor]:
    """For a management route: the runtime, the token's organization (reading needs the `read` scope,
    changing needs `manage`) and the actor its changes are audited as."""
    rt: Runtime = request.app.state.rt
    scope = scope_of(request.method, Scope.MANAGE)
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), scope)
    return rt, caller.org, actor_of(request, caller)


async def organization(request: Request) -> Response:
    rt, org, by = await manager(request)
    if request.method == "PATCH":
        return json_response(await service.do_change_organization(rt, org, await request.body(), by))
    return json_response(service.present(await service.access_organization(rt, org)))


def routes() -> list[Route]:
    return [Route("/api/v1/organization", organization, methods=["GET", "PATCH"])]
