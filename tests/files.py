"""Files served over HTTP on the loopback address, for media sent by link: each path answers with the
file put there (404 for any other), and every request is counted by path. A file may be streamed
without a Content-Length, or held: its requests wait, unanswered, until it is released (or the server
stops)."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

from aiohttp import web

from tests.receiver import serve_on_loopback


@dataclass(frozen=True)
class Served:
    data: bytes
    content_type: str
    chunked: bool = False  # streamed, no Content-Length: a size limit must hold as it arrives
    held: bool = False  # answered once released


class FileServer:
    def __init__(self) -> None:
        self.files: dict[str, Served] = {}
        self.requests: Counter[str] = Counter()
        self._released: dict[str, asyncio.Event] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> FileServer:
        app = web.Application()
        app.router.add_get("/{path:.*}", self._handle)
        self._runner, self.port = await serve_on_loopback(app)
        return self

    async def stop(self) -> None:
        for gate in self._released.values():
            gate.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def put(
        self, path: str, data: bytes, content_type: str, *, chunked: bool = False, held: bool = False
    ) -> str:
        """Serve `data` at `path`; its URL."""
        self.files[path] = Served(data, content_type, chunked, held)
        if held:
            self._released[path] = asyncio.Event()
        return self.url(path)

    def release(self, path: str) -> None:
        """Answer the requests held at `path`, and those to come."""
        self._released[path].set()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests[request.path] += 1
        served = self.files.get(request.path)
        if served is None:
            return web.Response(status=404, text="not here")
        if served.held:
            await self._released[request.path].wait()
        if not served.chunked:
            return web.Response(body=served.data, headers={"Content-Type": served.content_type})
        response = web.StreamResponse(headers={"Content-Type": served.content_type})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(served.data), 64 * 1024):
            await response.write(served.data[start : start + 64 * 1024])
        await response.write_eof()
        return response
