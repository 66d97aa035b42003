"""Meta's template management surface: `/{version}/{waba_id}/message_templates` and
`POST /{version}/{template_id}` (reading one goes through the Graph resolver, `cloud_routes.get_object`)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain import template_rules
from wagate.domain.access import Scope, scope_of
from wagate.errors import invalid_parameter
from wagate.services import template_lifecycle, tenancy
from wagate.services import templates as template_service
from wagate.services.runtime import Runtime
from wagate.web.callers import actor_of
from wagate.web.cloud_routes import FIELDS, _check_version
from wagate.web.errors import json_response
from wagate.web.graph_objects import CreatedTemplate, Success, TemplatePage
from wagate.web.operations import VERSION, Answer, Body, Operation, Surface, path_param, query


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


# -- the API reference --------------------------------------------------------------------------------
# The bodies as `domain/template_rules.py` checks them (keys in any case; a body, or the query string).
class TemplateComponentSpec(msgspec.Struct):
    """A component: HEADER (format TEXT, IMAGE, VIDEO, DOCUMENT, GIF or LOCATION), BODY, FOOTER or
    BUTTONS, with `example` values for its variables."""

    type: str
    format: str | msgspec.UnsetType = msgspec.UNSET
    text: str | msgspec.UnsetType = msgspec.UNSET
    example: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    buttons: list[dict[str, Any]] | msgspec.UnsetType = msgspec.UNSET
    add_security_recommendation: bool | msgspec.UnsetType = msgspec.UNSET
    code_expiration_minutes: int | msgspec.UnsetType = msgspec.UNSET


_Components = Annotated[list[TemplateComponentSpec], msgspec.Meta(min_length=1)]
_Category = Annotated[str, msgspec.Meta(description="MARKETING, UTILITY or AUTHENTICATION (any case)")]


class TemplateCreateBody(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(pattern="^[a-z0-9_]+$", max_length=template_rules.NAME_MAX)]
    language: Annotated[str, msgspec.Meta(extra_json_schema={"enum": sorted(template_rules.LANGUAGES)})]
    category: _Category
    components: _Components
    parameter_format: (
        Annotated[str, msgspec.Meta(description="positional (the default) or named")] | msgspec.UnsetType
    ) = msgspec.UNSET
    message_send_ttl_seconds: int | msgspec.UnsetType = msgspec.UNSET


class TemplateEditBody(msgspec.Struct):
    """A template's `POST /{version}/{template_id}`: at least one of the three."""

    category: _Category | msgspec.UnsetType = msgspec.UNSET
    components: _Components | msgspec.UnsetType = msgspec.UNSET
    message_send_ttl_seconds: int | msgspec.UnsetType = msgspec.UNSET


WABA_ID = path_param("waba_id", "The business account's id")
_NEW = {
    "name": "order_update",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {
            "type": "BODY",
            "text": "Hi {{1}}, your order {{2}} has shipped.",
            "example": {"body_text": [["Anna", "A-1001"]]},
        }
    ],
}


def operations() -> list[Operation]:
    path = "/{version}/{waba_id}/message_templates"
    return [
        Operation(
            "GET",
            path,
            "listTemplates",
            "List the business account's templates",
            "Cloud API",
            (Answer(200, "A page of templates, with Graph cursors", TemplatePage),),
            Surface.GRAPH,
            scope=Scope.READ,
            params=(
                VERSION,
                WABA_ID,
                query("name", "Only templates whose name contains this"),
                query("status", "Only templates in this status (APPROVED, PENDING, REJECTED, PAUSED...)"),
                query("category", "Only templates of this category"),
                query("language", "Only templates in this language", example="en_US"),
                FIELDS,
                query(
                    "limit",
                    f"Templates per page, 1 to {template_service.MAX_PAGE} "
                    f"(default {template_service.DEFAULT_PAGE})",
                ),
                query("after", "The cursor of the next page (paging.cursors.after)"),
                query("before", "The cursor of the previous page (paging.cursors.before)"),
            ),
        ),
        Operation(
            "POST",
            path,
            "createTemplate",
            "Create a template (PENDING until reviewed)",
            "Cloud API",
            (
                Answer(
                    200,
                    "Created",
                    CreatedTemplate,
                    example={"id": "1234567890", "status": "PENDING", "category": "UTILITY"},
                ),
            ),
            Surface.GRAPH,
            description="Meta's create payload. The parameters may also come in the query string.",
            scope=Scope.MANAGE,
            params=(VERSION, WABA_ID),
            body=Body(TemplateCreateBody, examples={"utility": _NEW}),
        ),
        Operation(
            "DELETE",
            path,
            "deleteTemplates",
            "Delete templates by name (every language), or one with hsm_id",
            "Cloud API",
            (Answer(200, "Deleted", Success, example={"success": True}),),
            Surface.GRAPH,
            scope=Scope.MANAGE,
            params=(
                VERSION,
                WABA_ID,
                query("name", "The templates' name (required)", example="order_update"),
                query("hsm_id", "Only the template with this id (of that name)"),
            ),
        ),
        Operation(
            "POST",
            "/{version}/{template_id}/unpause",
            "unpauseTemplate",
            "Unpause a paused template: it is approved again at once",
            "Cloud API",
            (Answer(200, "Unpaused", Success, example={"success": True}),),
            Surface.GRAPH,
            scope=Scope.MANAGE,
            params=(VERSION, path_param("template_id", "The template's id")),
        ),
    ]
