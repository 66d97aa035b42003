"""A worker's ear for wake-ups from other processes: `LISTEN` on its own PostgreSQL connection.

Each notification names the numbers that have new messages (see `store/wakeups.py`); the dispatcher's
lanes for them stop waiting and claim. When the connection is lost (PostgreSQL restarting, a
terminated backend), the listener connects again with a growing pause; meanwhile the lanes poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import psycopg

from wagate.store.wakeups import CHANNEL, parse

log = logging.getLogger(__name__)

RECONNECT_MIN = 0.2
RECONNECT_MAX = 5.0


def conninfo(url: str) -> str:
    """A libpq URL from wagate's database URL (`postgresql+psycopg://` names a driver libpq does not know)."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql{sep}{rest}" if scheme.startswith("postgres") else url


class Listener:
    def __init__(self, url: str, wake: Callable[[int], None]) -> None:
        self.conninfo = conninfo(url)
        self.wake = wake
        self.listening = asyncio.Event()  # set while a LISTEN connection is up
        self.connections = 0  # how many times it connected (a restart or a kill makes one more)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        pause = RECONNECT_MIN
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, connect_timeout=5, keepalives_idle=10
                )
            except psycopg.Error as exc:
                log.warning("outbox listener: cannot connect (%s); again in %.1f s", exc, pause)
                await asyncio.sleep(pause)
                pause = min(RECONNECT_MAX, pause * 2)
                continue
            try:
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.connections += 1
                    self.listening.set()
                    pause = RECONNECT_MIN
                    async for notification in conn.notifies():
                        for number_id in parse(notification.payload):
                            self.wake(number_id)
            except psycopg.Error as exc:
                log.warning("outbox listener: connection lost (%s); connecting again", exc)
            finally:
                self.listening.clear()
            await asyncio.sleep(pause)
