"""wagate's own management API under `/api/v1` (what Meta has no endpoint for)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope
from wagate.services import messages as message_service
from wagate.services import tenancy
from wagate.services.conversations import check_page
from wagate.services.runtime import Runtime
from wagate.web.errors import json_response


def _error(code: int | None, title: str | None, details: str | None) -> dict[str, Any] | None:
    if code is None:
        return None
    return {"code": code, "title": title, "details": details}


async def get_message(request: Request) -> Response:
    """A message with its current status, its status history and any error."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.READ)
    org = caller.org
    found = await message_service.access_message(rt, org, request.path_params["wamid"])
    m = found["message"]
    body: dict[str, Any] = {
        "id": m["wamid"],
        "direction": "outbound" if m["direction"] == "out" else "inbound",
        "phone_number_id": str(m["phone_number_id"]),
        "wa_id": m["wa_id"],
        "type": m["type"],
        "status": m["status"],
        "category": m["category"],
        "priority": m["priority"],
        "biz_opaque_callback_data": m["callback_data"],
        "context_message_id": m["context_wamid"],
        "created_at": m["created_at"],
        "updated_at": m["updated_at"],
        "error": _error(m["error_code"], m["error_title"], m["error_details"]),
        "history": [
            {
                "status": h["status"],
                "at": h["at"],
                "error": _error(h["error_code"], h["error_title"], h["error_details"]),
            }
            for h in found["history"]
        ],
    }
    if found["outbox"] is not None:
        o = found["outbox"]
        body["delivery"] = {
            "attempts": o["attempts"],
            "next_attempt_at": o["due_at"],
            "last_error": _error(o["last_error_code"], o["last_error_title"], None),
        }
    return json_response(body)


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
