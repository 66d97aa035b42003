"""Meta's Cloud API surface: `/{version}/{phone_number_id}/messages` and the Graph object resolver."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.cloudapi import graph_versions
from wagate.cloudapi.send import parse_send_request
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
    message: dict[str, Any] = {"id": accepted.wamid}
    if accepted.type == "template":
        message["message_status"] = "accepted"
    return _encoder.encode(
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": accepted.recipient_input, "wa_id": accepted.wa_id}],
            "messages": [message],
        }
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
