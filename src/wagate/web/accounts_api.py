"""`/api/v1/business-accounts`: an organization's WhatsApp business accounts, their Meta credentials
(write-only) and their webhook subscription at Meta."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.services import accounts as service
from wagate.web.errors import json_response
from wagate.web.organizations_api import manager


async def accounts(request: Request) -> Response:
    rt, org, by = await manager(request)
    if request.method == "POST":
        return json_response(await service.do_create_account(rt, org, await request.body(), by), 201)
    return json_response({"data": await service.list_accounts(rt, org)})


async def account(request: Request) -> Response:
    rt, org, by = await manager(request)
    raw_id = request.path_params["id"]
    if request.method == "PATCH":
        return json_response(await service.do_change_account(rt, org, raw_id, await request.body(), by))
    if request.method == "DELETE":
        return json_response(await service.do_delete_account(rt, org, raw_id, by))
    return json_response(service.present(await service.access_account(rt, org, raw_id)))


async def subscription(request: Request) -> Response:
    """`POST` subscribes the Meta app to the account's webhooks at Meta; `DELETE` unsubscribes it."""
    rt, org, by = await manager(request)
    subscribe = request.method == "POST"
    raw_id = request.path_params["id"]
    return json_response(await service.do_subscribe(rt, org, raw_id, by, subscribe=subscribe))


def routes() -> list[Route]:
    return [
        Route("/api/v1/business-accounts", accounts, methods=["GET", "POST"]),
        Route("/api/v1/business-accounts/{id}", account, methods=["GET", "PATCH", "DELETE"]),
        Route("/api/v1/business-accounts/{id}/subscribe", subscription, methods=["POST", "DELETE"]),
    ]
