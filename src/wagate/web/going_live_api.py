"""`/api/v1/going-live`: what the organization still lacks to send from a real number."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope
from wagate.services import going_live, tenancy
from wagate.services.runtime import Runtime
from wagate.web.errors import json_response


async def check(request: Request) -> Response:
    """Every check of docs/going-live.md, each with what to do when it failed; `ready` when all passed."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.READ)
    return json_response(await going_live.check_going_live(rt, caller.org))


def routes() -> list[Route]:
    return [Route("/api/v1/going-live", check, methods=["GET"])]
