"""Meta's Cloud API surface: `/{version}/{phone_number_id}/messages` and the Graph object resolver."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.cloudapi import graph_versions
from wagate.cloudapi.send import Envelope, parse_send_request
from wagate.domain.access import Scope
from wagate.domain.sending import Accepted, OutgoingMessage, Sender, SendOptions
from wagate.errors import GraphError, unknown_object
from wagate.ids import parse_id
from wagate.media import service as media_service
from wagate.services import number_lifecycle, sending, tenancy
from wagate.services import templates as template_service
from wagate.services.runtime import Runtime
from wagate.store import tenancy as tenancy_sql
from wagate.web.errors import json_response
from wagate.web.graph_objects import (
    BusinessAccountObject,
    MediaInfo,
    PhoneNumberObject,
    SendAnswer,
    SentContact,
    SentMessage,
    Success,
    TemplateObject,
)
from wagate.web.operations import VERSION, Answer, Body, Operation, Param, Surface, path_param, query
from wagate.web.send_examples import SEND_EXAMPLES

MAX_KEY_LENGTH = 255
SUCCESS = b'{"success":true}'
_NO_KEY = SendOptions()
_encoder = msgspec.json.Encoder()


def _check_version(version: str) -> None:
    if not graph_versions.is_known(version):
        raise GraphError(
            100,
            f"Unknown path components: /{version} (a Graph API version: v{graph_versions.LATEST_MAJOR}.0)",
            message="(#100) Unknown path components",
            http_status=400,
        )


async def handle_send(
    rt: Runtime, version: str, object_id: str, authorization: str | None, key: str | None, body: bytes
) -> tuple[int, bytes]:
    """`POST /{version}/{phone_number_id}/messages`, shared by the route and the fast path."""
    _check_version(version)
    caller = await tenancy.authenticate(rt, authorization, Scope.SEND)
    org = caller.org
    number = await tenancy.access_phone_number(rt, org, object_id)
    if not number.registered:
        raise GraphError(133010, "Register the number (POST /{version}/{phone_number_id}/register) to send.")
    if key is not None and not 0 < len(key) <= MAX_KEY_LENGTH:
        raise GraphError(100, f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
    request = parse_send_request(body)
    if request.kind != "message":
        await sending.do_mark_read(
            rt, org, number, request.read_message_id or "", typing=request.kind == "typing"
        )
        return 200, SUCCESS
    options = _NO_KEY if key is None else SendOptions(key, hashlib.sha256(body).hexdigest())
    accepted = await sending.send_message(
        rt, org, number, OutgoingMessage.from_request(request), Sender.api_token(caller.token_id), options
    )
    return 200, _answer(accepted)


def _answer(accepted: Accepted) -> bytes:
    """Meta's answer to an accepted send (a replay answers the same: it is made of the same parts)."""
    status: Literal["accepted"] | msgspec.UnsetType = (
        "accepted" if accepted.type == "template" else msgspec.UNSET
    )
    return _encoder.encode(
        SendAnswer(
            "whatsapp",
            [SentContact(accepted.recipient_input, accepted.wa_id)],
            [SentMessage(accepted.wamid, status)],
        )
    )


async def send_message(request: Request) -> Response:
    """Send a message (Meta's `POST /{version}/{phone_number_id}/messages`)."""
    status, body = await handle_send(
        request.app.state.rt,
        request.path_params["version"],
        request.path_params["object_id"],
        request.headers.get("authorization"),
        request.headers.get("idempotency-key"),
        await request.body(),
    )
    return Response(body, status_code=status, media_type="application/json")


async def get_object(request: Request) -> Response:
    """Read a Graph object (phone number, business account, template) by id."""
    rt: Runtime = request.app.state.rt
    _check_version(request.path_params["version"])
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.READ)
    org = caller.org
    raw_id = request.path_params["object_id"]
    object_id = parse_id(raw_id)
    if object_id is None:
        raise unknown_object(raw_id)
    found = await rt.db.read(lambda conn: tenancy_sql.graph_object(conn, object_id))
    if found is None or found[1] != org.id:
        raise unknown_object(raw_id)
    kind = found[0]
    fields = request.query_params.get("fields")
    if kind == "phone_number":
        number = await tenancy.access_phone_number(rt, org, raw_id)
        body: dict[str, Any] = await number_lifecycle.describe_number(rt, org, number, fields)
    elif kind == "business_account":
        body = {
            "id": raw_id,
            "name": org.name,
            "timezone_id": "0",
            "message_template_namespace": f"wagate_{raw_id}",
        }
    elif kind == "template":
        template = await template_service.access_template(rt, org, raw_id)
        body = await template_service.describe_template(rt, template)
    elif kind == "media":
        body = await media_service.describe_media(
            rt, org, raw_id, request.query_params.get("phone_number_id"), str(request.base_url)
        )
    else:
        body = {"id": raw_id}
    if fields:
        wanted = {f.strip() for f in fields.split(",")} | {"id"}
        body = {k: v for k, v in body.items() if k in wanted}
    return json_response(body)


def routes() -> list[Route]:
    return [
        Route("/{version}/{object_id}/messages", send_message, methods=["POST"]),
        Route("/{version}/{object_id}", get_object, methods=["GET"]),
    ]


PHONE_NUMBER_ID = path_param("phone_number_id", "The business number's id")
OBJECT_ID = path_param(
    "object_id", "The id of a phone number, business account, template or media of the token's organization"
)
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "header",
    "Send once: a repeat with the same key and body answers the first send's answer, with another body 409",
    Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_KEY_LENGTH)],
    example="order-A-1001-shipped",
)
FIELDS = query("fields", "Comma-separated fields to answer (and id); all when absent", example="id,name")
# Meta checks `messaging_product` by hand (code 100), so the decoder's struct leaves it optional.
_SEND_BODY = Annotated[Envelope, msgspec.Meta(extra_json_schema={"required": ["messaging_product"]})]
_SENT = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": "79161234567", "wa_id": "79161234567"}],
    "messages": [{"id": "wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"}],
}


def operations() -> list[Operation]:
    return [
        Operation(
            "POST",
            "/{version}/{phone_number_id}/messages",
            "sendMessage",
            "Send a message, mark a message read, or show a typing indicator",
            "Cloud API",
            (
                Answer(
                    200,
                    'Accepted: the message is queued (or marked read: `{"success": true}`)',
                    (
                        SendAnswer,
                        Success,
                    ),
                    example=_SENT,
                ),
            ),
            Surface.GRAPH,
            description=(
                "Meta's send: text, media by id or link (image, audio, video, document, sticker), location, "
                "contacts, interactive (buttons, list, CTA URL, flow, product, carousel and more), template, "
                "reaction; `status: read` marks a received message read, with `typing_indicator` it also "
                "shows the customer a typing indicator. The number must be registered (133010 otherwise); "
                "wagate's policy refuses what Meta would not deliver (139001 to 139004). Fields wagate does "
                "not know are ignored."
            ),
            scope=Scope.SEND,
            params=(VERSION, PHONE_NUMBER_ID, IDEMPOTENCY_KEY),
            body=Body(_SEND_BODY, examples=SEND_EXAMPLES),
            errors=((409, "The Idempotency-Key was used with another body"),),
        ),
        Operation(
            "GET",
            "/{version}/{object_id}",
            "getGraphObject",
            "Read a phone number, business account, template or media by its id",
            "Cloud API",
            (
                Answer(
                    200,
                    "The object, as Meta shows it; for media, a download URL valid five minutes",
                    (PhoneNumberObject, BusinessAccountObject, TemplateObject, MediaInfo),
                    example={"id": "106540352242922", "display_phone_number": "+7 916 000-00-01"},
                ),
            ),
            Surface.GRAPH,
            description=(
                "One path for every kind of Graph object: the id says which. A phone number answers its "
                "verification, registration, name review, quality and messaging limit (from Meta for a "
                "number at Meta); a business account its name and template namespace; a template its "
                "components, status and quality; media a URL to `GET /v1/media/download/{media_id}`."
            ),
            scope=Scope.READ,
            params=(
                VERSION,
                OBJECT_ID,
                FIELDS,
                query("phone_number_id", "Media only: the number the media belongs to"),
            ),
        ),
    ]
