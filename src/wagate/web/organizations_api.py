"""`/api/v1/organization`: the token's own organization, its name and what it holds."""

from __future__ import annotations

import msgspec
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
from wagate.web.operations import Answer, Body, Operation, Surface


class OrganizationCounts(msgspec.Struct, forbid_unknown_fields=True):
    business_accounts: int
    phone_numbers: int
    templates: int
    active_tokens: int


class OrganizationView(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    name: str
    slug: str
    messaging_tier: str
    created_at: float
    counts: OrganizationCounts


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


def operations() -> list[Operation]:
    return [
        Operation(
            "GET",
            "/api/v1/organization",
            "getOrganization",
            "The token's organization: name, slug, messaging tier, what it holds",
            "Organization",
            (Answer(200, "The organization", OrganizationView),),
            Surface.API,
            scope=Scope.READ,
        ),
        Operation(
            "PATCH",
            "/api/v1/organization",
            "renameOrganization",
            "Rename the organization",
            "Organization",
            (Answer(200, "The organization", OrganizationView),),
            Surface.API,
            scope=Scope.MANAGE,
            body=Body(service.OrganizationChange, examples={"rename": {"name": "Shop"}}),
        ),
    ]
