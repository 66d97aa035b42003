"""Webhook subscriptions and deliveries under `/api/v1/webhooks` (see docs/events.md)."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Caller, Scope, scope_of
from wagate.errors import ApiError
from wagate.services import tenancy
from wagate.services import webhooks as service
from wagate.services.runtime import Runtime
from wagate.store.webhooks import Subscription
from wagate.web.callers import actor_of
from wagate.web.errors import json_response
from wagate.web.operations import Answer, Body, Operation, Surface, path_param, query

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500

_create_decoder = msgspec.json.Decoder(service.SubscriptionCreate)
_patch_decoder = msgspec.json.Decoder(service.SubscriptionPatch)
_replay_decoder = msgspec.json.Decoder(service.ReplayRequest)


def _decode(decoder: msgspec.json.Decoder[T], body: bytes) -> T:
    try:
        return decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise ApiError("invalid_request", str(exc)) from exc


async def _caller(request: Request, scope: Scope) -> tuple[Runtime, Caller]:
    rt: Runtime = request.app.state.rt
    return rt, await tenancy.authenticate(rt, request.headers.get("authorization"), scope)


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError("invalid_parameter", f"{name} must be an integer", parameter=name) from None


class SubscriptionView(msgspec.Struct, forbid_unknown_fields=True):
    id: int
    url: str
    format: str  # meta | wagate
    phone_number_ids: list[str] | None  # null: every number
    event_types: list[str] | None  # null: every event
    max_concurrency: int
    batch_size: int
    active: bool
    created_at: float
    updated_at: float


class CreatedSubscriptionView(SubscriptionView, forbid_unknown_fields=True):
    secret: str  # shown only here
    verify_token: str | msgspec.UnsetType = msgspec.UNSET


class SubscriptionList(msgspec.Struct, forbid_unknown_fields=True):
    data: list[SubscriptionView]


class DeliveryView(msgspec.Struct, forbid_unknown_fields=True):
    id: int
    subscription_id: int
    event_id: str
    event_type: str
    event_created_at: float
    state: str  # pending | delivered | dead
    attempts: int
    next_attempt_at: float | None
    last_status_code: int | None
    last_error: str | None
    created_at: float
    delivered_at: float | None


class DeliveryPage(msgspec.Struct, forbid_unknown_fields=True):
    data: list[DeliveryView]
    next_cursor: str | None


class Replayed(msgspec.Struct, forbid_unknown_fields=True):
    replayed: int


def _view_fields(sub: Subscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "url": sub.url,
        "format": sub.format,
        "phone_number_ids": None if sub.phone_number_ids is None else [str(n) for n in sub.phone_number_ids],
        "event_types": sub.event_types,
        "max_concurrency": sub.max_concurrency,
        "batch_size": sub.batch_size,
        "active": sub.active,
        "created_at": sub.created_at,
        "updated_at": sub.updated_at,
    }


def subscription_view(sub: Subscription) -> SubscriptionView:
    return SubscriptionView(**_view_fields(sub))


def delivery_view(row: dict[str, Any]) -> DeliveryView:
    return DeliveryView(
        id=row["id"],
        subscription_id=row["subscription_id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        event_created_at=row["event_created_at"],
        state=row["state"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"] if row["state"] == "pending" else None,
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        delivered_at=row["delivered_at"],
    )


async def subscriptions(request: Request) -> Response:
    """List (GET) or create (POST) the organization's subscriptions; the secret is shown only on creation."""
    rt, caller = await _caller(request, scope_of(request.method, Scope.MANAGE))
    org = caller.org
    if request.method == "GET":
        found = await service.list_subscriptions(rt, org)
        return json_response(SubscriptionList([subscription_view(sub) for sub in found]))
    req = _decode(_create_decoder, await request.body())
    created = await service.do_create_subscription(rt, org, req, actor_of(request, caller))
    verify_token = msgspec.UNSET if created.verify_token is None else created.verify_token
    body = CreatedSubscriptionView(
        **_view_fields(created.subscription), secret=created.secret, verify_token=verify_token
    )
    return json_response(body, 201)


async def subscription(request: Request) -> Response:
    """Read (GET), change (PATCH) or remove (DELETE) one subscription."""
    rt, caller = await _caller(request, scope_of(request.method, Scope.MANAGE))
    org = caller.org
    raw_id = request.path_params["subscription_id"]
    if request.method == "GET":
        return json_response(subscription_view(await service.access_subscription(rt, org, raw_id)))
    if request.method == "PATCH":
        patch = _decode(_patch_decoder, await request.body())
        updated = await service.do_update_subscription(rt, org, raw_id, patch, actor_of(request, caller))
        return json_response(subscription_view(updated))
    await service.do_delete_subscription(rt, org, raw_id, actor_of(request, caller))
    return Response(status_code=204)


async def replay_subscription(request: Request) -> Response:
    """Send a subscription's dead deliveries (or those since a time, or in a state) again."""
    rt, caller = await _caller(request, Scope.MANAGE)
    org = caller.org
    body = await request.body()
    req = _decode(_replay_decoder, body) if body.strip() else service.ReplayRequest()
    count = await service.do_replay_subscription(rt, org, request.path_params["subscription_id"], req)
    return json_response(Replayed(count))


async def deliveries(request: Request) -> Response:
    """The organization's deliveries, newest first; `next_cursor` pages on."""
    rt, caller = await _caller(request, Scope.READ)
    org = caller.org
    limit = _int_param(request, "limit") or DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError("invalid_parameter", f"limit must be between 1 and {MAX_LIMIT}", parameter="limit")
    rows = await service.list_deliveries(
        rt,
        org,
        state=request.query_params.get("state") or None,
        subscription_id=_int_param(request, "subscription_id"),
        before_id=_int_param(request, "cursor"),
        limit=limit,
    )
    next_cursor = str(rows[-1]["id"]) if len(rows) == limit else None
    return json_response(DeliveryPage([delivery_view(row) for row in rows], next_cursor))


async def replay_delivery(request: Request) -> Response:
    """Send one delivery again, due now with its attempts reset."""
    rt, caller = await _caller(request, Scope.MANAGE)
    org = caller.org
    row = await service.do_replay_delivery(rt, org, request.path_params["delivery_id"])
    return json_response(delivery_view(row))


def routes() -> list[Route]:
    return [
        Route("/api/v1/webhooks/subscriptions", subscriptions, methods=["GET", "POST"]),
        Route(
            "/api/v1/webhooks/subscriptions/{subscription_id}",
            subscription,
            methods=["GET", "PATCH", "DELETE"],
        ),
        Route(
            "/api/v1/webhooks/subscriptions/{subscription_id}/replay", replay_subscription, methods=["POST"]
        ),
        Route("/api/v1/webhooks/deliveries", deliveries, methods=["GET"]),
        Route("/api/v1/webhooks/deliveries/{delivery_id}/replay", replay_delivery, methods=["POST"]),
    ]


_SUBSCRIPTION = path_param("subscription_id", "The subscription's id")
_EVENTS = ", ".join(service.EVENT_TYPES)


def operations() -> list[Operation]:
    path = "/api/v1/webhooks/subscriptions"
    one = path + "/{subscription_id}"
    return [
        Operation(
            "GET",
            path,
            "listWebhookSubscriptions",
            "The organization's webhook subscriptions",
            "Webhooks",
            (Answer(200, "The subscriptions", SubscriptionList),),
            Surface.API,
            scope=Scope.READ,
        ),
        Operation(
            "POST",
            path,
            "createWebhookSubscription",
            "Subscribe a URL to the organization's events",
            "Webhooks",
            (
                Answer(
                    201,
                    "Created; the secret (and verify token) are shown only in this answer",
                    CreatedSubscriptionView,
                ),
            ),
            Surface.API,
            description=(
                f"`format`: {' or '.join(service.FORMATS)} (docs/events.md); `event_types` from {_EVENTS} "
                "(null: every event); `phone_number_ids` (null: every number). The URL must be http(s) and "
                "its host must not resolve to a private address (unless the deployment allows it)."
            ),
            scope=Scope.MANAGE,
            body=Body(
                service.SubscriptionCreate,
                examples={
                    "hook": {"url": "https://shop.example/hooks/wagate", "event_types": ["message.received"]}
                },
            ),
        ),
        Operation(
            "GET",
            one,
            "getWebhookSubscription",
            "A webhook subscription",
            "Webhooks",
            (Answer(200, "The subscription", SubscriptionView),),
            Surface.API,
            scope=Scope.READ,
            params=(_SUBSCRIPTION,),
            errors=(404,),
        ),
        Operation(
            "PATCH",
            one,
            "changeWebhookSubscription",
            "Change a webhook subscription",
            "Webhooks",
            (Answer(200, "The subscription changed", SubscriptionView),),
            Surface.API,
            scope=Scope.MANAGE,
            params=(_SUBSCRIPTION,),
            body=Body(service.SubscriptionPatch, examples={"pause": {"active": False}}),
            errors=(404,),
        ),
        Operation(
            "DELETE",
            one,
            "deleteWebhookSubscription",
            "Remove a webhook subscription and its deliveries",
            "Webhooks",
            (Answer(204, "Removed"),),
            Surface.API,
            scope=Scope.MANAGE,
            params=(_SUBSCRIPTION,),
            errors=(404,),
        ),
        Operation(
            "POST",
            one + "/replay",
            "replayWebhookSubscription",
            "Send a subscription's deliveries again",
            "Webhooks",
            (Answer(200, "How many deliveries are due again", Replayed, example={"replayed": 3}),),
            Surface.API,
            description="Those in `state` (dead when nothing is given), or those `since` a Unix time.",
            scope=Scope.MANAGE,
            params=(_SUBSCRIPTION,),
            body=Body(service.ReplayRequest, required=False, examples={"dead": {"state": "dead"}}),
            errors=(404,),
        ),
        Operation(
            "GET",
            "/api/v1/webhooks/deliveries",
            "listWebhookDeliveries",
            "The organization's webhook deliveries, newest first",
            "Webhooks",
            (Answer(200, "A page of deliveries; next_cursor pages on", DeliveryPage),),
            Surface.API,
            scope=Scope.READ,
            params=(
                query("state", f"Only deliveries in this state ({', '.join(service.STATES)})"),
                query("subscription_id", "Only this subscription's deliveries", int),
                query("cursor", "The next_cursor of the previous page", int),
                query("limit", f"Page size, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})", int),
            ),
        ),
        Operation(
            "POST",
            "/api/v1/webhooks/deliveries/{delivery_id}/replay",
            "replayWebhookDelivery",
            "Send one delivery again, due now with its attempts reset",
            "Webhooks",
            (Answer(200, "The delivery", DeliveryView),),
            Surface.API,
            scope=Scope.MANAGE,
            params=(path_param("delivery_id", "The delivery's id"),),
            errors=(404, (409, "The delivery is being attempted right now")),
        ),
    ]
