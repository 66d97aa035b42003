"""`/api/v1/business-accounts`: an organization's WhatsApp business accounts, their Meta credentials
(write-only) and their webhook subscription at Meta."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope
from wagate.services import accounts as service
from wagate.web.errors import json_response
from wagate.web.operations import Answer, Body, Operation, Surface, path_param
from wagate.web.organizations_api import manager


class AccountView(msgspec.Struct, forbid_unknown_fields=True):
    """A business account (`services.accounts.present`): its secrets only as set or not."""

    id: str
    name: str
    at_meta: bool
    access_token_set: bool
    access_token_last4: str | None
    app_secret_set: bool
    meta_app_id: str | None
    subscribed_at: float | None
    phone_number_ids: list[str]
    created_at: float


class AccountList(msgspec.Struct, forbid_unknown_fields=True):
    data: list[AccountView]


class DeletedAccount(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    deleted: bool


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


_ID = path_param("id", "The business account's id")
_META = (502, "Meta refused the call or did not answer (Meta's error under data.meta)")


def operations() -> list[Operation]:
    path = "/api/v1/business-accounts"
    return [
        Operation(
            "GET",
            path,
            "listBusinessAccounts",
            "The organization's business accounts",
            "Organization",
            (Answer(200, "The accounts", AccountList),),
            Surface.API,
            scope=Scope.READ,
        ),
        Operation(
            "POST",
            path,
            "addBusinessAccount",
            "Add a business account",
            "Organization",
            (Answer(201, "Added", AccountView),),
            Surface.API,
            description=(
                "For an account at Meta: `meta_waba_id` (kept as its id) and `access_token` (a system-user "
                "token), optionally `app_secret` and `meta_app_id`; without them, an account of the "
                "simulator's. Secrets are never given back."
            ),
            scope=Scope.MANAGE,
            body=Body(service.NewAccount, examples={"simulator": {"name": "Second shop"}}),
            errors=((409, "The account at Meta is in wagate already"),),
        ),
        Operation(
            "GET",
            path + "/{id}",
            "getBusinessAccount",
            "A business account",
            "Organization",
            (Answer(200, "The account", AccountView),),
            Surface.API,
            scope=Scope.READ,
            params=(_ID,),
            errors=(404,),
        ),
        Operation(
            "PATCH",
            path + "/{id}",
            "changeBusinessAccount",
            "Change a business account's name or credentials",
            "Organization",
            (Answer(200, "The account", AccountView),),
            Surface.API,
            description="`app_secret` and `meta_app_id` null clear them.",
            scope=Scope.MANAGE,
            params=(_ID,),
            body=Body(service.AccountChange, examples={"rename": {"name": "Main shop"}}),
            errors=(404,),
        ),
        Operation(
            "DELETE",
            path + "/{id}",
            "removeBusinessAccount",
            "Remove a business account without numbers or templates",
            "Organization",
            (Answer(200, "Removed", DeletedAccount),),
            Surface.API,
            scope=Scope.MANAGE,
            params=(_ID,),
            errors=(404, (409, "The account still has numbers or templates")),
        ),
        Operation(
            "POST",
            path + "/{id}/subscribe",
            "subscribeBusinessAccount",
            "Subscribe the Meta app to the account's webhooks (Meta's subscribed_apps)",
            "Organization",
            (Answer(200, "The account, subscribed", AccountView),),
            Surface.API,
            description="An account of the simulator's has nothing to subscribe at Meta: only recorded.",
            scope=Scope.MANAGE,
            params=(_ID,),
            errors=(404, _META),
        ),
        Operation(
            "DELETE",
            path + "/{id}/subscribe",
            "unsubscribeBusinessAccount",
            "Unsubscribe the Meta app from the account's webhooks",
            "Organization",
            (Answer(200, "The account, unsubscribed", AccountView),),
            Surface.API,
            scope=Scope.MANAGE,
            params=(_ID,),
            errors=(404, _META),
        ),
    ]
