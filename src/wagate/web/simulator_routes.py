"""The simulator's control API under `/api/v1/simulator` (mounted only when the simulator runs)."""

from __future__ import annotations

import dataclasses

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
from wagate.web import simulator_template_routes
from wagate.web.errors import json_response

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
    return json_response({"id": message_id}, 201)


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
    return json_response({"success": True})


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
    return json_response({"success": True})


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
        {
            "accepted": simulator.accepted,
            "receipts_delivered": simulator.receipts_delivered,
            "refused_throughput": simulator.rules.refused_throughput,
            "refused_pair_rate": simulator.rules.refused_pair_rate,
            "refusals": dict(simulator.rules.refusals),
        }
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
    ]
