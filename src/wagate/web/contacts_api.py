"""`/api/v1/contacts`: the people an organization talks to, searched, tagged and erased on request."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope, scope_of
from wagate.services import contacts as service
from wagate.services import tenancy
from wagate.services.conversations import check_page
from wagate.services.runtime import Runtime
from wagate.web.callers import actor_of
from wagate.web.errors import json_response


async def contacts(request: Request) -> Response:
    """List contacts, newest first (`q` searches name, wa_id and attribute values; `tag`), or create one."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(
        rt, request.headers.get("authorization"), scope_of(request.method, Scope.MANAGE)
    )
    org = caller.org
    if request.method == "POST":
        return json_response(
            await service.do_create_contact(rt, org, await request.body(), actor_of(request, caller)), 201
        )
    params = request.query_params
    limit, offset = check_page(params.get("limit"), params.get("offset"))
    data = await service.list_contacts(rt, org, params.get("q"), params.get("tag"), limit, offset)
    return json_response({"data": data, "paging": {"limit": limit, "offset": offset}})


async def contact(request: Request) -> Response:
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(
        rt, request.headers.get("authorization"), scope_of(request.method, Scope.MANAGE)
    )
    org = caller.org
    raw_id = request.path_params["id"]
    if request.method == "PATCH":
        return json_response(
            await service.do_change_contact(rt, org, raw_id, await request.body(), actor_of(request, caller))
        )
    if request.method == "DELETE":
        return json_response(await service.do_erase_contact(rt, org, raw_id, actor_of(request, caller)))
    return json_response(service.present(await service.access_contact(rt, org, raw_id)))


def routes() -> list[Route]:
    return [
        Route("/api/v1/contacts", contacts, methods=["GET", "POST"]),
        Route("/api/v1/contacts/{id}", contact, methods=["GET", "PATCH", "DELETE"]),
    ]
