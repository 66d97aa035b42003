"""wagate's own management API under `/api/v1` (what Meta has no endpoint for): reading messages."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope
from wagate.services import messages as message_service
from wagate.services import tenancy
from wagate.services.conversations import MAX_PAGE, check_page
from wagate.services.runtime import Runtime
from wagate.web.errors import json_response
from wagate.web.operations import Answer, Operation, Surface, path_param, query

Direction = Literal["outbound", "inbound"]


class MessageError(msgspec.Struct, forbid_unknown_fields=True):
    code: int
    title: str | None
    details: str | None


class StatusChange(msgspec.Struct, forbid_unknown_fields=True):
    status: str
    at: float
    error: MessageError | None


class Delivery(msgspec.Struct, forbid_unknown_fields=True):
    """An outbound message still in the outbox: its attempts so far and the next one."""

    attempts: int
    next_attempt_at: float
    last_error: MessageError | None


class Message(msgspec.Struct, forbid_unknown_fields=True):
    id: str  # the wamid
    direction: Direction
    phone_number_id: str
    wa_id: str
    type: str
    status: str
    category: str | None
    priority: int | None
    biz_opaque_callback_data: str | None
    context_message_id: str | None
    created_at: float
    updated_at: float
    error: MessageError | None
    history: list[StatusChange]
    delivery: Delivery | msgspec.UnsetType = msgspec.UNSET


class FoundMessage(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    direction: Direction
    phone_number_id: str
    wa_id: str
    type: str
    status: str
    content: dict[str, Any]
    created_at: float


class OffsetPaging(msgspec.Struct, forbid_unknown_fields=True):
    limit: int
    offset: int


class BeforePaging(msgspec.Struct, forbid_unknown_fields=True):
    before: float | None  # the next page's `before`; null on the last page


class FoundMessages(msgspec.Struct, forbid_unknown_fields=True):
    data: list[FoundMessage]
    paging: BeforePaging


def _error(code: int | None, title: str | None, details: str | None) -> MessageError | None:
    return None if code is None else MessageError(code, title, details)


async def get_message(request: Request) -> Response:
    """A message with its current status, its status history and any error."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.READ)
    org = caller.org
    found = await message_service.access_message(rt, org, request.path_params["wamid"])
    m = found["message"]
    message = Message(
        id=m["wamid"],
        direction="outbound" if m["direction"] == "out" else "inbound",
        phone_number_id=str(m["phone_number_id"]),
        wa_id=m["wa_id"],
        type=m["type"],
        status=m["status"],
        category=m["category"],
        priority=m["priority"],
        biz_opaque_callback_data=m["callback_data"],
        context_message_id=m["context_wamid"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        error=_error(m["error_code"], m["error_title"], m["error_details"]),
        history=[
            StatusChange(h["status"], h["at"], _error(h["error_code"], h["error_title"], h["error_details"]))
            for h in found["history"]
        ],
    )
    if found["outbox"] is not None:
        o = found["outbox"]
        message.delivery = Delivery(
            o["attempts"], o["due_at"], _error(o["last_error_code"], o["last_error_title"], None)
        )
    return json_response(message)


async def search_messages(request: Request) -> Response:
    """Messages holding every word of `q`, newest first (`before` pages on: the last `created_at`)."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.READ)
    params = request.query_params
    limit, _ = check_page(params.get("limit"), None)
    found = await message_service.search_messages(
        rt,
        caller.org,
        params.get("q"),
        params.get("phone_number_id"),
        params.get("wa_id"),
        params.get("before"),
        limit,
    )
    more = len(found) == limit
    return json_response({"data": found, "paging": {"before": found[-1]["created_at"] if more else None}})


def routes() -> list[Route]:
    return [
        Route("/api/v1/messages", search_messages, methods=["GET"]),
        Route("/api/v1/messages/{wamid}", get_message, methods=["GET"]),
    ]


LIMIT = query("limit", f"Page size, 1 to {MAX_PAGE} (default 50)", int)
OFFSET = query("offset", "How many to skip (default 0)", int)


def operations() -> list[Operation]:
    return [
        Operation(
            "GET",
            "/api/v1/messages",
            "searchMessages",
            "Search messages by their words, newest first",
            "Messages",
            (Answer(200, "The messages found; paging.before pages on", FoundMessages),),
            Surface.API,
            description=(
                "Every word of `q` must match a word of the message or the start of one, in any case (the "
                "text is sealed and searched through a blind index)."
            ),
            scope=Scope.READ,
            params=(
                query("q", "The words to look for (required)", example="order"),
                query("phone_number_id", "Only messages of this business number"),
                query("wa_id", "Only messages with this customer"),
                query(
                    "before", "Only messages created before this time (the last created_at of a page)", float
                ),
                LIMIT,
            ),
        ),
        Operation(
            "GET",
            "/api/v1/messages/{wamid}",
            "getMessage",
            "A message, its status, its status history and any error",
            "Messages",
            (Answer(200, "The message", Message),),
            Surface.API,
            scope=Scope.READ,
            params=(path_param("wamid", "The message's id (wamid)", str),),
            errors=(404,),
        ),
    ]
