"""Meta's webhooks in: the verification handshake, and signed notifications into the one ingest path."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from wagate.cloudapi.signatures import verify_hub_signature
from wagate.cloudapi.webhooks import Envelope
from wagate.services.ingest import ingest
from wagate.services.runtime import Runtime
from wagate.web.body_limits import META_NOTIFICATION_MAX
from wagate.web.operations import Answer, Body, Operation, Param, Surface, query


async def verify(request: Request) -> Response:
    """`GET /webhooks/meta`: answer the challenge when the verify token matches."""
    rt: Runtime = request.app.state.rt
    params = request.query_params
    token = rt.meta_app.verify_token
    if params.get("hub.mode") == "subscribe" and token and params.get("hub.verify_token") == token:
        return PlainTextResponse(params.get("hub.challenge", ""))
    return PlainTextResponse("verification failed", status_code=403)


async def receive(request: Request) -> Response:
    """`POST /webhooks/meta`: check `X-Hub-Signature-256` over the raw body, store, then answer 200.

    Bodies over Meta's 3 MB are refused before they are read (`web/body_limits.py`)."""
    rt: Runtime = request.app.state.rt
    body = await request.body()
    status, text = await handle_notification(rt, body, request.headers.get("x-hub-signature-256"))
    return PlainTextResponse(text, status_code=status)


async def handle_notification(rt: Runtime, body: bytes, signature: str | None) -> tuple[int, str]:
    if not verify_hub_signature(rt.meta_app.app_secret, body, signature):
        rt.metrics.webhooks_refused.inc()
        return 401, "invalid signature"
    await ingest(rt, body, "meta")
    return 200, "OK"


def routes() -> list[Route]:
    return [
        Route("/webhooks/meta", verify, methods=["GET"]),
        Route("/webhooks/meta", receive, methods=["POST"]),
    ]


_TEXT = {"type": "string"}
_NOTIFICATION = {
    "object": "whatsapp_business_account",
    "entry": [
        {
            "id": "102290129340398",
            "changes": [
                {
                    "field": "messages",
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {
                            "display_phone_number": "79160000001",
                            "phone_number_id": "106540352242922",
                        },
                        "contacts": [{"profile": {"name": "Anna"}, "wa_id": "79161234567"}],
                        "messages": [
                            {
                                "from": "79161234567",
                                "id": "wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBQzQUZCMDdBRjM2QjU1RTcwOTRGMAA=",
                                "timestamp": "1733580000",
                                "type": "text",
                                "text": {"body": "Hello"},
                            }
                        ],
                    },
                }
            ],
        }
    ],
}


def operations() -> list[Operation]:
    return [
        Operation(
            "GET",
            "/webhooks/meta",
            "verifyMetaWebhook",
            "Meta's verification handshake: answer the challenge when the verify token matches",
            "Cloud API",
            (
                Answer(
                    200, "The challenge, echoed", media_type="text/plain", schema=_TEXT, example="1158201444"
                ),
                Answer(403, "The mode or verify token is wrong", media_type="text/plain", schema=_TEXT),
            ),
            Surface.PLAIN,
            params=(
                query("hub.mode", "subscribe", example="subscribe"),
                query(
                    "hub.verify_token", "The verify token set in Meta's dashboard (WAGATE_META_VERIFY_TOKEN)"
                ),
                query("hub.challenge", "What to answer", example="1158201444"),
            ),
        ),
        Operation(
            "POST",
            "/webhooks/meta",
            "receiveMetaWebhook",
            "Meta's notifications: messages, statuses, template and account changes",
            "Cloud API",
            (
                Answer(200, "Stored", media_type="text/plain", schema=_TEXT, example="OK"),
                Answer(401, "The signature is missing or wrong", media_type="text/plain", schema=_TEXT),
                Answer(
                    413,
                    f"Larger than Meta sends ({META_NOTIFICATION_MAX} bytes)",
                    media_type="text/plain",
                    schema=_TEXT,
                ),
            ),
            Surface.PLAIN,
            description=(
                "Signed by Meta with the app secret (WAGATE_META_APP_SECRET): `X-Hub-Signature-256` is "
                "checked over the raw body before anything is read."
            ),
            params=(
                Param(
                    "X-Hub-Signature-256",
                    "header",
                    "sha256= and the HMAC-SHA256 of the body with the app secret, in hex",
                    required=True,
                ),
            ),
            body=Body(Envelope, examples={"message": _NOTIFICATION}),
            errors=(503,),
        ),
    ]
