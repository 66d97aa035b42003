"""`/api/v1/policy`: the organization's policy settings (consent keywords and replies, marketing caps)."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope, scope_of
from wagate.domain.policy_settings import PolicySettings
from wagate.services import policy_settings as service
from wagate.services import tenancy
from wagate.services.runtime import Runtime
from wagate.web.callers import actor_of
from wagate.web.errors import json_response
from wagate.web.operations import Answer, Body, Operation, Surface


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


# A change names some of the settings; null puts one back to its default.
PolicyChange = msgspec.defstruct(
    "PolicyChange",
    [
        (f.name, f.type | None | msgspec.UnsetType, msgspec.UNSET)
        for f in msgspec.structs.fields(PolicySettings)
    ],
    forbid_unknown_fields=True,
)


def operations() -> list[Operation]:
    return [
        Operation(
            "GET",
            "/api/v1/policy",
            "getPolicy",
            "The organization's effective policy settings",
            "Policy",
            (Answer(200, "What the organization set, defaults for the rest", PolicySettings),),
            Surface.API,
            scope=Scope.READ,
        ),
        Operation(
            "PATCH",
            "/api/v1/policy",
            "changePolicy",
            "Change some policy settings",
            "Policy",
            (Answer(200, "The effective settings", PolicySettings),),
            Surface.API,
            description=(
                "The keys given are merged over the stored ones (null: back to the default); nothing changes "
                "unless the result is valid. Keywords and replies are per language."
            ),
            scope=Scope.MANAGE,
            body=Body(PolicyChange, examples={"caps": {"marketing_per_day": 1, "marketing_per_week": 2}}),
        ),
    ]
