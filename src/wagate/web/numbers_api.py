"""`/api/v1/numbers`: an organization's business numbers, their rate and upstream, and how they stand
at Meta."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope
from wagate.services import numbers as service
from wagate.web.errors import json_response
from wagate.web.operations import Answer, Body, Operation, Surface, path_param
from wagate.web.organizations_api import manager


class NumberView(msgspec.Struct, forbid_unknown_fields=True):
    """A business number (`services.numbers.present`) and how it stands at Meta."""

    id: str
    waba_id: str
    display_phone_number: str
    region: str
    verified_name: str
    upstream: str
    rate: int
    messaging_tier: str | None
    quality_rating: str | None
    name_status: str | None
    code_verification_status: str | None
    platform_type: str | None
    registered_at: float | None
    created_at: float


class NumberList(msgspec.Struct, forbid_unknown_fields=True):
    data: list[NumberView]


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


_ID = path_param("id", "The business number's id")


def operations() -> list[Operation]:
    return [
        Operation(
            "GET",
            "/api/v1/numbers",
            "listNumbers",
            "The organization's business numbers",
            "Numbers",
            (Answer(200, "The numbers", NumberList),),
            Surface.API,
            scope=Scope.READ,
        ),
        Operation(
            "POST",
            "/api/v1/numbers",
            "addNumber",
            "Add a number to one of the organization's business accounts",
            "Numbers",
            (Answer(201, "Added", NumberView),),
            Surface.API,
            description=(
                "A number of an account at Meta needs `meta_phone_number_id` (its id becomes the number's); "
                "an account of wagate's own takes simulator numbers. `rate`: messages per second, 1 to 1000."
            ),
            scope=Scope.MANAGE,
            body=Body(
                service.NewNumber,
                examples={
                    "simulator": {"waba_id": "102290129340398", "display_phone_number": "+7 812 555-09-09"}
                },
            ),
            errors=((409, "The number is in wagate already"),),
        ),
        Operation(
            "GET",
            "/api/v1/numbers/{id}",
            "getNumber",
            "A business number",
            "Numbers",
            (Answer(200, "The number", NumberView),),
            Surface.API,
            scope=Scope.READ,
            params=(_ID,),
            errors=(404,),
        ),
        Operation(
            "PATCH",
            "/api/v1/numbers/{id}",
            "changeNumber",
            "Change a number's rate, upstream or verified name",
            "Numbers",
            (Answer(200, "The number", NumberView),),
            Surface.API,
            description="Running senders follow within 2 seconds.",
            scope=Scope.MANAGE,
            params=(_ID,),
            body=Body(service.NumberChange, examples={"rate": {"rate": 20}}),
            errors=(404,),
        ),
        Operation(
            "POST",
            "/api/v1/numbers/{id}/refresh",
            "refreshNumber",
            "Read the number from Meta (or the simulator) and keep how it stands",
            "Numbers",
            (Answer(200, "The number refreshed", NumberView),),
            Surface.API,
            description="Messaging tier, quality rating, name and code verification status, platform type.",
            scope=Scope.MANAGE,
            params=(_ID,),
            errors=(
                404,
                (502, "Meta refused the call or did not answer"),
                (503, "The number's upstream does not run in this process"),
            ),
        ),
    ]
