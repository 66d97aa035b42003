"""Simulated customers: what a person does on their phone, turned into Meta's inbound message objects."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import TYPE_CHECKING, Any

import msgspec

from wagate.domain.phone import to_wa_id
from wagate.domain.tenancy import PhoneNumber
from wagate.errors import ApiError
from wagate.media import rules as media_rules
from wagate.media import samples
from wagate.services.runtime import Runtime
from wagate.upstreams.base import NumberRef

if TYPE_CHECKING:
    from wagate.upstreams.simulator import SimulatorUpstream

MEDIA_KINDS = frozenset(media_rules.KINDS)


class CustomerAction(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /api/v1/simulator/messages`: a customer writes, sends media, replies, presses a button or
    reacts."""

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
    # Media (image, video, audio, document, sticker): a small sample file of the kind unless given.
    caption: str | None = None
    filename: str | None = None
    data_base64: str | None = None
    mime_type: str | None = None


class PreferenceAction(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /api/v1/simulator/preferences`: a customer stops or resumes marketing messages."""

    phone_number_id: str
    wa_id: str
    value: str  # "stop" | "resume"


def _require(value: Any, name: str, kind: str) -> Any:
    if value is None:
        raise ApiError("invalid_request", f"{name} is required for a {kind} message", field=name)
    return value


def build_inbound(
    action: CustomerAction, resolve: Any, media: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Meta's inbound `messages[]` object (without from, id and timestamp) for a customer action;
    `media` is the media object of a media message, its file already on the simulated network."""
    message: dict[str, Any] = {}
    kind = action.type
    if kind in MEDIA_KINDS:
        message = {"type": kind, kind: _require(media, "media", kind)}
    elif kind == "text":
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
    ref = number.ref
    media = None
    if action.type in MEDIA_KINDS:
        media = await _send_file(simulator, ref, action)
    message = build_inbound(action, simulator.resolve_message_id, media)
    if "context" in message:
        message["context"]["from"] = number.digits
    return await simulator.customer_message(ref, wa_id, action.name, message)


async def do_customer_preferences(rt: Runtime, number: PhoneNumber, action: PreferenceAction) -> None:
    """The customer tells WhatsApp to stop (or resume) marketing messages from the number's business."""
    simulator = rt.simulator
    if simulator is None:
        raise ApiError("simulator_off", "the simulator is not running", http_status=404)
    if action.value not in ("stop", "resume"):
        raise ApiError("invalid_request", "value: must be 'stop' or 'resume'", field="value")
    try:
        wa_id = to_wa_id(action.wa_id, number.region)
    except Exception as exc:
        raise ApiError(
            "invalid_request", f"wa_id: {action.wa_id!r} is not a valid phone number", field="wa_id"
        ) from exc
    ref = number.ref
    await simulator.customer_preferences(ref, wa_id, action.value)


async def _send_file(simulator: SimulatorUpstream, ref: NumberRef, action: CustomerAction) -> dict[str, Any]:
    """Put the customer's file on the simulated network; Meta's inbound media object for it."""
    kind = action.type
    mime, data, filename = samples.sample(kind)
    if action.data_base64 is not None:
        try:
            data = base64.b64decode(action.data_base64, validate=True)
        except binascii.Error as exc:
            raise ApiError("invalid_request", f"data_base64: {exc}", field="data_base64") from exc
    mime = action.mime_type or mime
    if action.caption is not None and kind not in ("image", "video", "document"):
        raise ApiError("invalid_request", f"a {kind} message has no caption", field="caption")
    media_id = await simulator.upload_media(ref, data, mime, action.filename or filename)
    media: dict[str, Any] = {"mime_type": mime, "sha256": hashlib.sha256(data).hexdigest(), "id": media_id}
    if action.caption is not None:
        media["caption"] = action.caption
    if kind == "document":
        media["filename"] = action.filename or filename
    elif kind == "audio":
        media["voice"] = False
    elif kind == "sticker":
        media["animated"] = media_rules.is_animated_webp(data)
    return media
