"""The media worker: downloads inbound media from the upstreams. Media past retention are deleted by the
retention worker (`workers/retention.py`), per organization."""

from __future__ import annotations

import asyncio
import logging
import time

from wagate.domain.retry import RetryPolicy
from wagate.media import service
from wagate.services.runtime import Runtime
from wagate.store import media as sql
from wagate.workers.base import PeriodicWorker

log = logging.getLogger(__name__)

# Meta keeps inbound media downloadable for 7 days; a day of failed attempts means something is wrong.
GIVE_UP_AFTER = 24 * 3600.0
_BATCH = 256
_CONCURRENT_DOWNLOADS = 8


class MediaWorker(PeriodicWorker):
    name = "media"
    interval = 0.5

    def __init__(self, rt: Runtime) -> None:
        super().__init__()
        self.rt = rt
        self.retry = RetryPolicy(base=1.0, cap=300.0)
        # media id → (failed attempts, monotonic time of the next attempt); lost on restart, which is
        # fine: a restart retries everything once.
        self._backoff: dict[int, tuple[int, float]] = {}

    async def tick(self) -> None:
        await self.download_inbound()

    async def download_inbound(self) -> int:
        """Fetch pending inbound media whose turn has come; returns how many were stored."""
        rt = self.rt
        pending = await rt.db.read(lambda conn: sql.pending_inbound(conn, _BATCH))
        now, mono = rt.clock.now(), time.monotonic()
        due: list[sql.PendingInbound] = []
        for item in pending:
            if now - item.media.created_at > GIVE_UP_AFTER:
                await self._give_up(item, now)
            elif self._backoff.get(item.media.id, (0, 0.0))[1] <= mono:
                due.append(item)
            if len(due) == _CONCURRENT_DOWNLOADS:
                break
        results = await asyncio.gather(*(self._download(item) for item in due))
        return sum(results)

    async def _download(self, item: sql.PendingInbound) -> bool:
        try:
            await service.ensure_local(self.rt, item.media)
        except Exception as exc:
            attempts = self._backoff.get(item.media.id, (0, 0.0))[0] + 1
            delay = self.retry.delay(attempts)
            self._backoff[item.media.id] = (attempts, time.monotonic() + delay)
            log.warning(
                "media %s: download of inbound media %s failed (attempt %d, next in %.0f s): %s",
                item.media.id,
                item.upstream_media_id,
                attempts,
                delay,
                exc,
            )
            return False
        self._backoff.pop(item.media.id, None)
        return True

    async def _give_up(self, item: sql.PendingInbound, now: float) -> None:
        self._backoff.pop(item.media.id, None)
        if await self.rt.db.write(sql.GiveUpInboundMedia(item.media.id, now)):
            log.error(
                "media %s: gave up downloading inbound media %s after %.0f hours",
                item.media.id,
                item.upstream_media_id,
                GIVE_UP_AFTER / 3600,
            )
