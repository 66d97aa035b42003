"""The simulator's control API under `/api/v1/simulator` (mounted only when the simulator runs)."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope, scope_of
from wagate.errors import ApiError
from wagate.services import tenancy
from wagate.services.runtime import Runtime
from wagate.services.simulated_customers import (
    CustomerAction,
    PreferenceAction,
    do_customer_message,
    do_customer_preferences,
)
from wagate.upstreams.simulator import SimulatorUpstream
from wagate.upstreams.simulator.network import Faults
from wagate.web import number_lifecycle_routes, simulator_template_routes
from wagate.web.errors import json_response
from wagate.web.graph_objects import Success
from wagate.web.operations import Answer, Body, Operation, Surface, path_param


class CustomerMessageId(msgspec.Struct, forbid_unknown_fields=True):
    id: str  # the inbound message's wamid


class NetworkStats(msgspec.Struct, forbid_unknown_fields=True):
    accepted: int
    receipts_delivered: int
    refused_throughput: int
    refused_pair_rate: int
    refusals: dict[str, int]  # by rule


_DONE = Success(True)
_action_decoder = msgspec.json.Decoder(CustomerAction)
_preference_decoder = msgspec.json.Decoder(PreferenceAction)
_faults_decoder = msgspec.json.Decoder(dict[str, float])


def _simulator(rt: Runtime) -> SimulatorUpstream:
    if rt.simulator is None:
        raise ApiError("simulator_off", "the simulator is not running", http_status=404)
    return rt.simulator


async def customer_message(request: Request) -> Response:
    """A simulated customer writes to a business number, replies, presses a button or reacts."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.MANAGE)
    org = caller.org
    try:
        action = _action_decoder.decode(await request.body())
    except msgspec.DecodeError as exc:
        raise ApiError("invalid_request", str(exc)) from exc
    number = await tenancy.access_phone_number(rt, org, action.phone_number_id)
    message_id = await do_customer_message(rt, number, action)
    return json_response(CustomerMessageId(message_id), 201)


async def preferences(request: Request) -> Response:
    """A simulated customer stops or resumes marketing messages from a business number's account."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.MANAGE)
    org = caller.org
    try:
        action = _preference_decoder.decode(await request.body())
    except msgspec.DecodeError as exc:
        raise ApiError("invalid_request", str(exc)) from exc
    number = await tenancy.access_phone_number(rt, org, action.phone_number_id)
    await do_customer_preferences(rt, number, action)
    return json_response(_DONE)


class TierChange(msgspec.Struct, forbid_unknown_fields=True):
    phone_number_id: str
    tier: str


async def messaging_tier(request: Request) -> Response:
    """Meta moves a number's account to another messaging tier (as it does on its own as an account
    grows); wagate hears of it through Meta's webhook and follows."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.MANAGE)
    org = caller.org
    try:
        change = msgspec.json.decode(await request.body(), type=TierChange)
    except msgspec.DecodeError as exc:
        raise ApiError("invalid_request", str(exc)) from exc
    number = await tenancy.access_phone_number(rt, org, change.phone_number_id)
    ref = number.ref
    try:
        await _simulator(rt).set_messaging_tier(ref, change.tier)
    except ValueError as exc:
        raise ApiError("invalid_request", str(exc), field="tier") from exc
    return json_response(_DONE)


async def faults(request: Request) -> Response:
    """Read (GET) or change (PUT) the probabilities of injected faults."""
    rt: Runtime = request.app.state.rt
    await tenancy.authenticate(
        rt, request.headers.get("authorization"), scope_of(request.method, Scope.MANAGE)
    )
    simulator = _simulator(rt)
    if request.method == "PUT":
        try:
            simulator.rules.faults.update(_faults_decoder.decode(await request.body()))
        except (msgspec.DecodeError, ValueError) as exc:
            raise ApiError("invalid_request", str(exc)) from exc
    return json_response(dataclasses.asdict(simulator.rules.faults))


async def stats(request: Request) -> Response:
    """What the simulated network has seen: sends accepted, receipts delivered, refusals by rule."""
    rt: Runtime = request.app.state.rt
    await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.READ)
    simulator = _simulator(rt)
    return json_response(
        NetworkStats(
            simulator.accepted,
            simulator.receipts_delivered,
            simulator.rules.refused_throughput,
            simulator.rules.refused_pair_rate,
            dict(simulator.rules.refusals),
        )
    )


def routes() -> list[Route]:
    return [
        Route("/api/v1/simulator/messages", customer_message, methods=["POST"]),
        Route("/api/v1/simulator/preferences", preferences, methods=["POST"]),
        Route("/api/v1/simulator/messaging-tier", messaging_tier, methods=["POST"]),
        Route("/api/v1/simulator/faults", faults, methods=["GET", "PUT"]),
        Route("/api/v1/simulator/stats", stats, methods=["GET"]),
        Route(
            "/api/v1/simulator/templates/{template_id}/quality",
            simulator_template_routes.template_quality,
            methods=["POST"],
        ),
        *number_lifecycle_routes.simulator_routes(),
    ]


_Probability = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
FaultChange = Annotated[
    dict[str, _Probability],
    msgspec.Meta(extra_json_schema={"propertyNames": {"enum": [f.name for f in dataclasses.fields(Faults)]}}),
]
_SIMULATOR = "Only while the in-process simulator runs (`wagate serve`)."
_NUMBER = "106540352242922"


def operations() -> list[Operation]:
    return [
        Operation(
            "POST",
            "/api/v1/simulator/messages",
            "simulateCustomerMessage",
            "A simulated customer writes, sends media, replies, presses a button or reacts",
            "Simulator",
            (
                Answer(
                    201, "Sent to the business number (wagate hears it as Meta's webhook)", CustomerMessageId
                ),
            ),
            Surface.API,
            description=(
                "`type`: text (the default), image, video, audio, document, sticker (a small sample file "
                "unless `data_base64` is given), location, button_reply, list_reply, button or reaction. "
                "The customer's message opens their 24-hour window. " + _SIMULATOR
            ),
            scope=Scope.MANAGE,
            body=Body(
                CustomerAction,
                examples={"text": {"phone_number_id": _NUMBER, "from": "79161234567", "text": "Hello"}},
            ),
        ),
        Operation(
            "POST",
            "/api/v1/simulator/preferences",
            "simulateCustomerPreferences",
            "A simulated customer stops or resumes marketing messages",
            "Simulator",
            (Answer(200, "Done (wagate hears a user_preferences webhook)", Success),),
            Surface.API,
            description="`value`: stop or resume. " + _SIMULATOR,
            scope=Scope.MANAGE,
            body=Body(
                PreferenceAction,
                examples={"stop": {"phone_number_id": _NUMBER, "wa_id": "79161234567", "value": "stop"}},
            ),
        ),
        Operation(
            "POST",
            "/api/v1/simulator/messaging-tier",
            "simulateMessagingTier",
            "Meta moves a number's account to another messaging tier",
            "Simulator",
            (Answer(200, "Done (wagate hears it through Meta's webhook)", Success),),
            Surface.API,
            description="`tier`: TIER_250, TIER_1K, TIER_10K, TIER_100K or TIER_UNLIMITED. " + _SIMULATOR,
            scope=Scope.MANAGE,
            body=Body(TierChange, examples={"1k": {"phone_number_id": _NUMBER, "tier": "TIER_1K"}}),
        ),
        Operation(
            "GET",
            "/api/v1/simulator/faults",
            "getSimulatorFaults",
            "The probabilities of injected faults",
            "Simulator",
            (Answer(200, "Each fault's probability, 0 to 1", Faults),),
            Surface.API,
            description=_SIMULATOR,
            scope=Scope.READ,
        ),
        Operation(
            "PUT",
            "/api/v1/simulator/faults",
            "setSimulatorFaults",
            "Change the probabilities of injected faults",
            "Simulator",
            (Answer(200, "Each fault's probability, 0 to 1", Faults),),
            Surface.API,
            description="The faults named change; the others stay. " + _SIMULATOR,
            scope=Scope.MANAGE,
            body=Body(FaultChange, examples={"flaky": {"server_error": 0.05, "timeout": 0.01}}),
        ),
        Operation(
            "GET",
            "/api/v1/simulator/stats",
            "getSimulatorStats",
            "What the simulated network has seen, and what it refused by rule",
            "Simulator",
            (Answer(200, "The counters", NetworkStats),),
            Surface.API,
            description=_SIMULATOR,
            scope=Scope.READ,
        ),
        Operation(
            "POST",
            "/api/v1/simulator/templates/{template_id}/quality",
            "simulateTemplateQuality",
            "Meta rates a template: GREEN, YELLOW, RED (pauses an approved one) or UNKNOWN",
            "Simulator",
            (Answer(200, "The template's quality and status", simulator_template_routes.TemplateQuality),),
            Surface.API,
            description=_SIMULATOR,
            scope=Scope.MANAGE,
            params=(path_param("template_id", "The template's id"),),
            body=Body(simulator_template_routes.QualityScoreBody, examples={"red": {"score": "RED"}}),
            errors=((404, "No such template (Meta's unknown object, as wagate's error)"),),
        ),
        *number_lifecycle_routes.simulator_operations(),
    ]
