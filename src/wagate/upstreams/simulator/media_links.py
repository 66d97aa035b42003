"""Media sent by link, fetched as Meta fetches it before the message goes out.

Every media object of a send given by `link` (the message's own image, audio, video, document or
sticker, a template's header parameter, an interactive message's header, a carousel card's) is fetched
through the address checks of `net/addresses.py`, without following redirects, streamed up to its
kind's size limit and judged by its Content-Type (`media/fetch.py`, `media/rules.py`). A link that
cannot be fetched, or whose file WhatsApp would not take, fails the message with 131053.

A file fetched is remembered for 10 minutes per exact URL, as Meta caches link-hosted media, so a
campaign sending one link to many customers fetches it once; sends of a link whose fetch is in flight
wait for that one fetch. Fetches run beside the sends, a bounded number at a time, each with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from wagate.clock import Clock
from wagate.errors import GraphError
from wagate.media.fetch import FETCH_TIMEOUT, LinkedFile, check_linked, fetch_media, timed_out
from wagate.media.rules import KINDS

CACHE_SECONDS = 600.0
CONCURRENCY = 16
_CACHE_SIZE = 10_000
_KINDS = frozenset(KINDS)


def linked_media(value: Any, found: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """`(kind, link)` of every media object given by link in a send body, in order, each once."""
    found = [] if found is None else found
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _KINDS and isinstance(item, dict) and isinstance(item.get("link"), str):
                if (key, item["link"]) not in found:
                    found.append((key, item["link"]))
            else:
                linked_media(item, found)
    elif isinstance(value, list):
        for item in value:
            linked_media(item, found)
    return found


class LinkFetcher:
    """Fetches the links of the simulator's sends, and remembers the files it fetched."""

    def __init__(
        self,
        clock: Clock,
        *,
        allow_private: bool,
        timeout: float = FETCH_TIMEOUT,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.clock = clock
        self.allow_private = allow_private
        self.timeout = timeout
        self._slots = asyncio.Semaphore(concurrency)
        self._cache: dict[str, tuple[float, LinkedFile]] = {}
        self._in_flight: dict[tuple[str, str], asyncio.Task[LinkedFile]] = {}

    async def problem(self, links: list[tuple[str, str]]) -> str | None:
        """None if every link leads to a file WhatsApp takes as its kind; else what is wrong with the
        first that does not, as Meta's `error_data.details` says it."""
        for kind, url in links:
            try:
                file = self._cached(url) or await self._fetch_shared(kind, url)
                check_linked(kind, url, file)
            except GraphError as exc:
                return exc.details or f"Media link {url} could not be fetched."
        return None

    async def close(self) -> None:
        tasks = list(self._in_flight.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, GraphError):
                await task

    def _cached(self, url: str) -> LinkedFile | None:
        entry = self._cache.get(url)
        if entry is None:
            return None
        if self.clock.now() - entry[0] >= CACHE_SECONDS:
            del self._cache[url]
            return None
        return entry[1]

    async def _fetch_shared(self, kind: str, url: str) -> LinkedFile:
        # Keyed by kind too: the size limit a fetch streams up to is its kind's.
        key = (kind, url)
        task = self._in_flight.get(key)
        if task is None:
            task = asyncio.create_task(self._fetch(kind, url), name="simulator-media-link")
            self._in_flight[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        # Shielded: one send given up (at close) must not cancel the fetch others wait for.
        return await asyncio.shield(task)

    def _forget(self, key: tuple[str, str], task: asyncio.Task[LinkedFile]) -> None:
        if self._in_flight.get(key) is task:
            del self._in_flight[key]
        if not task.cancelled():
            task.exception()  # retrieved here so that a failure nobody waits for is not reported

    async def _fetch(self, kind: str, url: str) -> LinkedFile:
        async with self._slots:
            try:
                async with asyncio.timeout(self.timeout):
                    file = await fetch_media(url, kind, allow_private=self.allow_private)
            except TimeoutError:
                raise timed_out(url, self.timeout) from None
        self._cache.pop(url, None)
        if len(self._cache) >= _CACHE_SIZE:
            del self._cache[next(iter(self._cache))]  # the oldest
        self._cache[url] = (self.clock.now(), file)
        return file
