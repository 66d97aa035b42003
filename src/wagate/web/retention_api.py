"""`/api/v1/retention` and `/api/v1/erasures`: how long the organization keeps messages and media, what
retention deleted, and the record of erased contacts."""

from __future__ import annotations

from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope, scope_of
from wagate.services import retention as service
from wagate.services import tenancy
from wagate.services.conversations import check_page
from wagate.services.runtime import Runtime
from wagate.web.api_v1 import LIMIT, OFFSET, OffsetPaging
from wagate.web.callers import actor_of
from wagate.web.errors import json_response
from wagate.web.operations import Answer, Body, Operation, Surface

_Days = Annotated[int, msgspec.Meta(ge=service.MIN_DAYS, le=service.MAX_DAYS)]


class RetentionChange(msgspec.Struct, forbid_unknown_fields=True):
    """Days from 1 to 3650, or null for the default (messages: kept forever; media: the deployment's)."""

    message_retention_days: _Days | msgspec.UnsetType | None = msgspec.UNSET
    media_retention_days: _Days | msgspec.UnsetType | None = msgspec.UNSET


class EffectivePeriods(msgspec.Struct, forbid_unknown_fields=True):
    message_retention_days: int | None  # null: kept forever
    media_retention_days: float


class RetentionView(msgspec.Struct, forbid_unknown_fields=True):
    message_retention_days: int | None
    media_retention_days: int | None
    effective: EffectivePeriods


class RetentionRun(msgspec.Struct, forbid_unknown_fields=True):
    id: int
    at: float
    counts: dict[str, int]


class RetentionRuns(msgspec.Struct, forbid_unknown_fields=True):
    data: list[RetentionRun]
    paging: OffsetPaging


class Erasure(msgspec.Struct, forbid_unknown_fields=True):
    id: int
    wa_id: str
    erased_at: float
    counts: dict[str, int]


class Erasures(msgspec.Struct, forbid_unknown_fields=True):
    data: list[Erasure]
    paging: OffsetPaging


async def retention(request: Request) -> Response:
    """The periods (GET), or some of them changed (PATCH; null goes back to the default)."""
    rt: Runtime = request.app.state.rt
    scope = scope_of(request.method, Scope.MANAGE)
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), scope)
    if request.method == "PATCH":
        by = actor_of(request, caller)
        return json_response(await service.do_change_retention(rt, caller.org, await request.body(), by))
    return json_response(await service.get_retention(rt, caller.org))


async def retention_runs(request: Request) -> Response:
    """What each run of the retention worker deleted, newest first."""
    rt: Runtime = request.app.state.rt
    org = (await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.READ)).org
    limit, offset = check_page(request.query_params.get("limit"), request.query_params.get("offset"))
    data = await service.list_runs(rt, org, limit, offset)
    return json_response({"data": data, "paging": {"limit": limit, "offset": offset}})


async def erasures(request: Request) -> Response:
    """Contacts erased on request, newest first."""
    rt: Runtime = request.app.state.rt
    org = (await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.READ)).org
    limit, offset = check_page(request.query_params.get("limit"), request.query_params.get("offset"))
    data = await service.list_erasures(rt, org, limit, offset)
    return json_response({"data": data, "paging": {"limit": limit, "offset": offset}})


def routes() -> list[Route]:
    return [
        Route("/api/v1/retention", retention, methods=["GET", "PATCH"]),
        Route("/api/v1/retention/runs", retention_runs, methods=["GET"]),
        Route("/api/v1/erasures", erasures, methods=["GET"]),
    ]


def operations() -> list[Operation]:
    return [
        Operation(
            "GET",
            "/api/v1/retention",
            "getRetention",
            "How long the organization keeps messages and media",
            "Retention",
            (Answer(200, "The periods set (null: the default) and the effective ones", RetentionView),),
            Surface.API,
            scope=Scope.READ,
        ),
        Operation(
            "PATCH",
            "/api/v1/retention",
            "changeRetention",
            "Change the retention periods",
            "Retention",
            (Answer(200, "The periods", RetentionView),),
            Surface.API,
            description="Consent records are never deleted by retention.",
            scope=Scope.MANAGE,
            body=Body(RetentionChange, examples={"a_year": {"message_retention_days": 365}}),
        ),
        Operation(
            "GET",
            "/api/v1/retention/runs",
            "listRetentionRuns",
            "What each run of the retention worker deleted, newest first",
            "Retention",
            (Answer(200, "The runs", RetentionRuns),),
            Surface.API,
            scope=Scope.READ,
            params=(LIMIT, OFFSET),
        ),
        Operation(
            "GET",
            "/api/v1/erasures",
            "listErasures",
            "Contacts erased on request, newest first",
            "Retention",
            (Answer(200, "The erasures", Erasures),),
            Surface.API,
            scope=Scope.READ,
            params=(LIMIT, OFFSET),
        ),
    ]
