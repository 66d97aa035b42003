"""`/api/v1/numbers`: an organization's business numbers, their rate and upstream, and how they stand
at Meta."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.services import numbers as service
from wagate.web.errors import json_response
from wagate.web.organizations_api import manager


async def numbers(request: Request) -> Response:
    rt, org, by = await manager(request)
    if request.method == "POST":
        return json_response(await service.do_add_number(rt, org, await request.body(), by), 201)
    return json_response({"data": await service.list_numbers(rt, org)})


async def number(request: Request) -> Response:
    rt, org, by = await manager(request)
    raw_id = request.path_params["id"]
    if request.method == "PATCH":
        return json_response(await service.do_change_number(rt, org, raw_id, await request.body(), by))
    return json_response(service.present(await service.access_number(rt, org, raw_id)))


async def refresh(request: Request) -> Response:
    """Read the number from Meta (or the simulator) and keep its messaging limit, quality and states."""
    rt, org, by = await manager(request)
    return json_response(await service.do_refresh_number(rt, org, request.path_params["id"], by))


def routes() -> list[Route]:
    return [
        Route("/api/v1/numbers", numbers, methods=["GET", "POST"]),
        Route("/api/v1/numbers/{id}", number, methods=["GET", "PATCH"]),
        Route("/api/v1/numbers/{id}/refresh", refresh, methods=["POST"]),
    ]
