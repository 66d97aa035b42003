"""`/api/v1/conversations`: threads, the queue waiting for a person, and their messages."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope, scope_of
from wagate.domain.conversations import STATES
from wagate.services import conversations as service
from wagate.services import tenancy
from wagate.services.runtime import Runtime
from wagate.web.api_v1 import LIMIT, OFFSET, Direction, OffsetPaging
from wagate.web.errors import json_response
from wagate.web.operations import Answer, Body, Operation, Surface, path_param, query


class ConversationView(msgspec.Struct, forbid_unknown_fields=True):
    """A conversation as `services.conversations.present` shows it."""

    id: int
    phone_number_id: str
    wa_id: str
    state: str
    assignee: str | None
    waiting_since: float | None
    last_message_at: float | None
    last_inbound_at: float | None
    created_at: float


class ConversationPage(msgspec.Struct, forbid_unknown_fields=True):
    data: list[ConversationView]
    paging: OffsetPaging


class ThreadMessage(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    direction: Direction
    type: str
    status: str
    created_at: float
    context_message_id: str | None
    error_code: int | None
    content: dict[str, Any]


class ThreadMessages(msgspec.Struct, forbid_unknown_fields=True):
    data: list[ThreadMessage]


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


_ID = path_param("id", "The conversation's id")
_STATES = ", ".join(STATES)


def operations() -> list[Operation]:
    return [
        Operation(
            "GET",
            "/api/v1/conversations",
            "listConversations",
            "Conversations, newest activity first",
            "Conversations",
            (Answer(200, "A page of conversations", ConversationPage),),
            Surface.API,
            description="`state=pending` is the queue waiting for a person, longest waiting first.",
            scope=Scope.READ,
            params=(
                query("state", f"Only conversations in this state ({_STATES})"),
                query("phone_number_id", "Only conversations of this business number"),
                LIMIT,
                OFFSET,
            ),
        ),
        Operation(
            "GET",
            "/api/v1/conversations/{id}",
            "getConversation",
            "A conversation",
            "Conversations",
            (Answer(200, "The conversation", ConversationView),),
            Surface.API,
            scope=Scope.READ,
            params=(_ID,),
            errors=(404,),
        ),
        Operation(
            "PATCH",
            "/api/v1/conversations/{id}",
            "changeConversation",
            "Change a conversation's state or assignee",
            "Conversations",
            (Answer(200, "The conversation changed", ConversationView),),
            Surface.API,
            description=f"`state`: {_STATES}; `assignee`: a name, or null for nobody.",
            scope=Scope.SEND,
            params=(_ID,),
            body=Body(service.ConversationChange, examples={"resolve": {"state": "resolved"}}),
            errors=(404,),
        ),
        Operation(
            "GET",
            "/api/v1/conversations/{id}/messages",
            "listConversationMessages",
            "The conversation's messages, newest first",
            "Conversations",
            (Answer(200, "The messages", ThreadMessages),),
            Surface.API,
            scope=Scope.READ,
            params=(
                _ID,
                query(
                    "before", "Only messages created before this time (the last created_at of a page)", float
                ),
                LIMIT,
            ),
            errors=(404,),
        ),
    ]
