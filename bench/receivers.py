"""Receivers for the webhook workloads: `python -m bench.receivers KIND PORT SECRET`.

- `sink`: the business's endpoint that wagate forwards to; answers Meta's handshake, 200 to every POST.
- `verify`: a bare ASGI endpoint that only verifies `X-Hub-Signature-256` (W3's first baseline).
- `pywa`: pywa's own webhook handling (its validator and update handler, with a message and a status
  handler registered) on the same server settings (W3's second baseline).
"""

from __future__ import annotations

import hashlib
import hmac
import sys
from typing import Any

import uvicorn

Scope = dict[str, Any]


async def _body(receive: Any) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _answer(send: Any, status: int, body: bytes) -> None:
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]}
    )
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        else:
            await send({"type": "lifespan.shutdown.complete"})
            return


def _header(scope: Scope, name: bytes) -> str:
    return next((v.decode() for k, v in scope["headers"] if k == name), "")


def sink_app(secret: str) -> Any:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["method"] == "GET":
            query = dict(
                part.split("=", 1) for part in scope["query_string"].decode().split("&") if "=" in part
            )
            await _answer(send, 200, query.get("hub.challenge", "").encode())
            return
        await _body(receive)
        await _answer(send, 200, b"OK")

    return app


def verify_app(secret: str) -> Any:
    key = secret.encode()

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        body = await _body(receive)
        expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(expected, _header(scope, b"x-hub-signature-256"))
        await _answer(send, 200 if ok else 401, b"OK" if ok else b"bad signature")

    return app


def pywa_app(secret: str) -> Any:
    from pywa import WhatsApp, types

    wa = WhatsApp(
        phone_id="1", token="unused", verify_token="bench", app_secret=secret, validate_updates=True
    )
    handled = {"messages": 0, "statuses": 0}

    @wa.on_message()  # type: ignore[misc]
    def on_message(_: WhatsApp, message: types.Message) -> None:
        handled["messages"] += 1

    @wa.on_message_status()  # type: ignore[misc]
    def on_status(_: WhatsApp, status: types.MessageStatus) -> None:
        handled["statuses"] += 1

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        body = await _body(receive)
        refused = wa.webhook_update_validator(body, _header(scope, b"x-hub-signature-256"))
        if refused:
            await _answer(send, refused[1], refused[0].encode())
            return
        text, status = wa.webhook_update_handler(body)
        await _answer(send, status, text.encode())

    return app


KINDS = {"sink": sink_app, "verify": verify_app, "pywa": pywa_app}

if __name__ == "__main__":
    kind, port, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    uvicorn.run(
        KINDS[kind](secret),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        proxy_headers=False,
    )
