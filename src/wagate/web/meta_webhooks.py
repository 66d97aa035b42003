"""Meta's webhooks in: the verification handshake, and signed notifications into the one ingest path."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from wagate.cloudapi.signatures import verify_hub_signature
from wagate.services.ingest import ingest
from wagate.services.runtime import Runtime


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
