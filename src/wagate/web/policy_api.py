"""`/api/v1/policy`: the organization's policy settings (consent keywords and replies, marketing caps)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope, scope_of
from wagate.services import policy_settings as service
from wagate.services import tenancy
from wagate.services.runtime import Runtime
from wagate.web.callers import actor_of
from wagate.web.errors import json_response


async def policy(request: Request) -> Response:
    """The effective settings (GET), or some of them changed (PATCH)."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(
        rt, request.headers.get("authorization"), scope_of(request.method, Scope.MANAGE)
    )
    org = caller.org
    if request.method == "PATCH":
        return json_response(
            await service.do_change_policy(rt, org, await request.body(), actor_of(request, caller))
        )
    return json_response(await service.get_policy(rt, org))


def routes() -> list[Route]:
    return [Route("/api/v1/policy", policy, methods=["GET", "PATCH"])]
