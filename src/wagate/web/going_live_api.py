"""`/api/v1/going-live`: what the organization still lacks to send from a real number."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope
from wagate.services import going_live, tenancy
from wagate.services.runtime import Runtime
from wagate.web.errors import json_response
from wagate.web.operations import Answer, Operation, Surface


class GoingLiveCheck(msgspec.Struct, forbid_unknown_fields=True):
    check: str
    subject: str  # what was looked at: deployment, account 123, number 456
    ok: bool
    detail: str
    fix: str | None  # what to do, when it failed


class GoingLive(msgspec.Struct, forbid_unknown_fields=True):
    ready: bool
    checks: list[GoingLiveCheck]


async def check(request: Request) -> Response:
    """Every check of docs/going-live.md, each with what to do when it failed; `ready` when all passed."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.READ)
    return json_response(await going_live.check_going_live(rt, caller.org))


def routes() -> list[Route]:
    return [Route("/api/v1/going-live", check, methods=["GET"])]


def operations() -> list[Operation]:
    return [
        Operation(
            "GET",
            "/api/v1/going-live",
            "checkGoingLive",
            "What the organization still lacks to go live",
            "Going live",
            (Answer(200, "Every check, and ready when all passed", GoingLive),),
            Surface.API,
            description=(
                "The checks of docs/going-live.md: webhook settings, the app subscribed to each account at "
                "Meta, Meta accepting the token, each number registered, an approved template."
            ),
            scope=Scope.READ,
        )
    ]
