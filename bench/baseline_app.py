"""A bare ASGI endpoint: the ceiling of the HTTP stack itself, served exactly as `wagate serve` serves.

It reads the body and answers a fixed Cloud API success body, with no validation, storage or work.
Run: `python -m bench.baseline_app PORT`.
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn

ANSWER = (
    b'{"messaging_product":"whatsapp","contacts":[{"input":"+79160000000","wa_id":"79160000000"}],'
    b'"messages":[{"id":"wamid.V0cBAAAAAAAAAAAAAAAAAAAAAAA"}]}'
)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": ANSWER})


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        proxy_headers=False,
    )
