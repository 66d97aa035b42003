"""Simulated customers: what a person does on their phone, turned into Meta's inbound message objects."""

from __future__ import annotations

from typing import Any

import msgspec

from wagate.domain.phone import to_wa_id
from wagate.domain.tenancy import PhoneNumber
from wagate.errors import ApiError
from wagate.services.runtime import Runtime
from wagate.upstreams.base import NumberRef


class CustomerAction(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /api/v1/simulator/messages`: a customer writes, replies, presses a button or reacts."""

    phone_number_id: str
    from_: str = msgspec.field(name="from")
    type: str = "text"
    name: str = "Customer"
    text: str | None = None
    reply_to: str | None = None  # a message id (wagate's or the simulator's) the customer answers
    button_id: str | None = None
    title: str | None = None
    description: str | None = None
    payload: str | None = None
    emoji: str | None = None
    latitude: float | None = None
    longitude: float | None = None


def _require(value: Any, name: str, kind: str) -> Any:
    if value is None:
        raise ApiError("invalid_request", f"{name} is required for a {kind} message", field=name)
    return value


def build_inbound(action: CustomerAction, resolve: Any) -> dict[str, Any]:
    """Meta's inbound `messages[]` object (without from, id and timestamp) for a customer action."""
    message: dict[str, Any] = {}
    kind = action.type
    if kind == "text":
        message = {"type": "text", "text": {"body": _require(action.text, "text", kind)}}
    elif kind in ("button_reply", "list_reply"):
        reply: dict[str, Any] = {
            "id": _require(action.button_id, "button_id", kind),
            "title": _require(action.title, "title", kind),
        }
        if kind == "list_reply" and action.description is not None:
            reply["description"] = action.description
        message = {"type": "interactive", "interactive": {"type": kind, kind: reply}}
    elif kind == "button":
        message = {
            "type": "button",
            "button": {
                "payload": _require(action.payload, "payload", kind),
                "text": _require(action.text, "text", kind),
            },
        }
    elif kind == "reaction":
        target = resolve(_require(action.reply_to, "reply_to", kind))
        reaction: dict[str, Any] = {"message_id": target}
        if action.emoji:
            reaction["emoji"] = action.emoji
        return {"type": "reaction", "reaction": reaction}
    elif kind == "location":
        message = {
            "type": "location",
            "location": {
                "latitude": _require(action.latitude, "latitude", kind),
                "longitude": _require(action.longitude, "longitude", kind),
            },
        }
    else:
        raise ApiError("invalid_request", f"unknown customer action type {kind!r}", field="type")
    if action.reply_to is not None:
        message["context"] = {"from": "", "id": resolve(action.reply_to)}
    return message


async def do_customer_message(rt: Runtime, number: PhoneNumber, action: CustomerAction) -> str:
    simulator = rt.simulator
    if simulator is None:
        raise ApiError("simulator_off", "the simulator is not running", http_status=404)
    try:
        wa_id = to_wa_id(action.from_, number.region)
    except Exception as exc:
        raise ApiError(
            "invalid_request", f"from: {action.from_!r} is not a valid phone number", field="from"
        ) from exc
    message = build_inbound(action, simulator.resolve_message_id)
    if "context" in message:
        message["context"]["from"] = "".join(ch for ch in number.display_phone_number if ch.isdigit())
    ref = NumberRef(number.id, number.display_phone_number, number.waba_id, number.rate)
    return await simulator.customer_message(ref, wa_id, action.name, message)
