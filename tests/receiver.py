"""A business's webhook endpoint for tests: records what it receives, and can be told to fail or stall.

Each path is an endpoint of its own. By default a POST is answered 200 and Meta's verification request
with its challenge; `fail` queues other statuses, `hold` keeps requests waiting until `release`.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass

from aiohttp import web


async def serve_on_loopback(app: web.Application) -> tuple[web.AppRunner, int]:
    """`app` served on 127.0.0.1 at a free port: its runner (to clean up) and the port."""
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, int(runner.addresses[0][1])


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: bytes


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.in_flight: dict[str, int] = defaultdict(int)
        self.most_in_flight: dict[str, int] = defaultdict(int)
        self._statuses: dict[str, list[int]] = defaultdict(list)
        self._always: dict[str, int] = {}
        self._gates: dict[str, asyncio.Event] = {}
        self._handshake_answers: dict[str, tuple[int, str]] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner, self.port = await serve_on_loopback(app)
        return self

    async def stop(self) -> None:
        for gate in self._gates.values():
            gate.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # -- behaviour ---------------------------------------------------------------------------------
    def fail(self, path: str, *statuses: int) -> None:
        """Answer the next POSTs to `path` with these statuses, in turn, then 200 again."""
        self._statuses[path].extend(statuses)

    def fail_always(self, path: str, status: int | None) -> None:
        """Answer every POST to `path` with `status` (None: back to normal)."""
        if status is None:
            self._always.pop(path, None)
        else:
            self._always[path] = status

    def hold(self, path: str) -> None:
        self._gates[path] = asyncio.Event()

    def release(self, path: str) -> None:
        gate = self._gates.pop(path, None)
        if gate is not None:
            gate.set()

    def answer_handshake(self, path: str, status: int, text: str) -> None:
        self._handshake_answers[path] = (status, text)

    # -- what arrived ------------------------------------------------------------------------------
    def posts(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.method == "POST" and r.path == path]

    def gets(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.method == "GET" and r.path == path]

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path
        received = Received(
            request.method,
            path,
            dict(request.query),
            {k.lower(): v for k, v in request.headers.items()},
            await request.read(),
        )
        self.requests.append(received)
        if request.method == "GET":
            if path in self._handshake_answers:
                status, text = self._handshake_answers[path]
                return web.Response(status=status, text=text)
            if request.query.get("hub.mode") == "subscribe":
                return web.Response(text=request.query.get("hub.challenge", ""))
            return web.Response(status=404)
        self.in_flight[path] += 1
        self.most_in_flight[path] = max(self.most_in_flight[path], self.in_flight[path])
        try:
            gate = self._gates.get(path)
            if gate is not None:
                await gate.wait()
            if path in self._always:
                return web.Response(status=self._always[path])
            queued = self._statuses[path]
            return web.Response(status=queued.pop(0) if queued else 200, text="ok")
        finally:
            self.in_flight[path] -= 1
