"""Meta's template management surface: `/{version}/{waba_id}/message_templates` and
`POST /{version}/{template_id}` (reading one goes through the Graph resolver, `cloud_routes.get_object`)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope, scope_of
from wagate.errors import invalid_parameter
from wagate.services import template_lifecycle, tenancy
from wagate.services import templates as template_service
from wagate.services.runtime import Runtime
from wagate.web.callers import actor_of
from wagate.web.cloud_routes import _check_version
from wagate.web.errors import json_response


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return dict(request.query_params)
    try:
        return json.loads(raw)
    except ValueError:
        raise invalid_parameter("body: not valid JSON") from None


async def message_templates(request: Request) -> Response:
    """List (GET), create (POST) or delete (DELETE) a business account's templates."""
    rt: Runtime = request.app.state.rt
    _check_version(request.path_params["version"])
    caller = await tenancy.authenticate(
        rt, request.headers.get("authorization"), scope_of(request.method, Scope.MANAGE)
    )
    org = caller.org
    waba_id = await template_service.access_business_account(rt, org, request.path_params["waba_id"])
    params = request.query_params
    if request.method == "POST":
        return json_response(
            await template_service.do_create_template(
                rt, org, waba_id, await _json_body(request), actor_of(request, caller)
            )
        )
    if request.method == "DELETE":
        return json_response(
            await template_service.do_delete_templates(
                rt, org, waba_id, params.get("name"), params.get("hsm_id"), actor_of(request, caller)
            )
        )
    query = template_service.ListQuery(
        name=params.get("name"),
        status=params.get("status"),
        category=params.get("category"),
        language=params.get("language"),
        fields=params.get("fields"),
        limit=params.get("limit"),
        after=params.get("after"),
        before=params.get("before"),
    )
    return json_response(await template_service.list_templates(rt, waba_id, query, str(request.url)))


async def edit_template(request: Request) -> Response:
    """Edit a template (Meta's `POST /{version}/{template_id}`): category, components, TTL."""
    rt: Runtime = request.app.state.rt
    _check_version(request.path_params["version"])
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.MANAGE)
    org = caller.org
    template = await template_service.access_template(rt, org, request.path_params["object_id"])
    return json_response(
        await template_service.do_edit_template(
            rt, template, await _json_body(request), actor_of(request, caller)
        )
    )


async def unpause_template(request: Request) -> Response:
    """Meta's `POST /{version}/{template_id}/unpause`."""
    rt: Runtime = request.app.state.rt
    _check_version(request.path_params["version"])
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.MANAGE)
    org = caller.org
    template = await template_service.access_template(rt, org, request.path_params["object_id"])
    return json_response(
        await template_lifecycle.do_unpause_template(rt, template, actor_of(request, caller))
    )


def routes() -> list[Route]:
    return [
        Route("/{version}/{waba_id}/message_templates", message_templates, methods=["GET", "POST", "DELETE"]),
        Route("/{version}/{object_id}/unpause", unpause_template, methods=["POST"]),
        Route("/{version}/{object_id}", edit_template, methods=["POST"]),
    ]
