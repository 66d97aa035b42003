"""The two hot routes served straight from ASGI; everything else goes to the Starlette app.

`POST /{version}/{id}/messages` (sending) and `POST /webhooks/meta` (Meta's notifications) run at
thousands of requests per second. Starlette's request and middleware objects cost about a third of the
CPU of an accepted message (measured with W1; see docs/decisions/0001-web-stack.md), so these two read
the body and headers from ASGI directly and call the same functions as their Starlette routes.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from wagate.services.runtime import Runtime
from wagate.web.cloud_routes import handle_send
from wagate.web.errors import render_error
from wagate.web.meta_webhooks import handle_notification

# What these paths serve, as the API reference names them (their operations are the Starlette routes').
SERVED = (("POST", "/webhooks/meta"), ("POST", "/{version}/{phone_number_id}/messages"))
_JSON = (b"content-type", b"application/json")
_TEXT = (b"content-type", b"text/plain; charset=utf-8")


class FastPaths:
    def __init__(self, app: ASGIApp, rt: Runtime) -> None:
        self.app = app
        self.rt = rt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path = scope["path"]
            if path == "/webhooks/meta":
                await self._meta_notification(scope, receive, send)
                return
            parts = path.split("/")
            if len(parts) == 4 and parts[3] == "messages" and not parts[0]:
                await self._send_message(scope, receive, send, parts[1], parts[2])
                return
        await self.app(scope, receive, send)

    async def _send_message(
        self, scope: Scope, receive: Receive, send: Send, version: str, object_id: str
    ) -> None:
        authorization = _header(scope, b"authorization")
        key = _header(scope, b"idempotency-key")
        try:
            body = await _body(receive)
            status, answer = await handle_send(self.rt, version, object_id, authorization, key, body)
        except Exception as exc:
            await render_error(Request(scope), exc)(scope, receive, send)
            return
        await _respond(send, status, answer, _JSON)

    async def _meta_notification(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = await _body(receive)
            status, text = await handle_notification(self.rt, body, _header(scope, b"x-hub-signature-256"))
        except Exception as exc:
            await render_error(Request(scope), exc)(scope, receive, send)
            return
        await _respond(send, status, text.encode(), _TEXT)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _body(receive: Receive) -> bytes:
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _respond(send: Send, status: int, body: bytes, content_type: tuple[bytes, bytes]) -> None:
    headers = [content_type, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
