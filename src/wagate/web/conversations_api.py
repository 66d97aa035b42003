"""`/api/v1/conversations`: threads, the queue waiting for a person, and their messages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope, scope_of
from wagate.services import conversations as service
from wagate.services import tenancy
from wagate.services.runtime import Runtime
from wagate.web.errors import json_response


async def list_conversations(request: Request) -> Response:
    """Conversations, newest activity first; `state=pending` is the queue, longest waiting first."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.READ)
    org = caller.org
    params = request.query_params
    limit, offset = service.check_page(params.get("limit"), params.get("offset"))
    data = await service.list_conversations(
        rt, org, params.get("state"), params.get("phone_number_id"), limit, offset
    )
    return json_response({"data": data, "paging": {"limit": limit, "offset": offset}})


async def get_conversation(request: Request) -> Response:
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(
        rt, request.headers.get("authorization"), scope_of(request.method, Scope.SEND)
    )
    org = caller.org
    if request.method == "PATCH":
        body = await service.do_change_conversation(rt, org, request.path_params["id"], await request.body())
        return json_response(body)
    return json_response(
        service.present(await service.access_conversation(rt, org, request.path_params["id"]))
    )


async def conversation_messages(request: Request) -> Response:
    """The conversation's messages, newest first; page with `before=<created_at>`."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.READ)
    org = caller.org
    limit, _ = service.check_page(request.query_params.get("limit"), None)
    data = await service.conversation_messages(
        rt, org, request.path_params["id"], limit, request.query_params.get("before")
    )
    return json_response({"data": data})


def routes() -> list[Route]:
    return [
        Route("/api/v1/conversations", list_conversations, methods=["GET"]),
        Route("/api/v1/conversations/{id}", get_conversation, methods=["GET", "PATCH"]),
        Route("/api/v1/conversations/{id}/messages", conversation_messages, methods=["GET"]),
    ]
