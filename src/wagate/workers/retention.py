"""The retention worker: deletes each organization's messages and media past its retention periods.

It runs where the workers run, once per `RUN_EVERY` seconds of clock time. On PostgreSQL each batch takes
an advisory lock for its transaction, so a second worker process skips the batch instead of deleting the
same rows at the same time."""

from __future__ import annotations

from wagate.services import retention
from wagate.services.runtime import Runtime
from wagate.workers.base import PeriodicWorker

RUN_EVERY = 60.0


class RetentionWorker(PeriodicWorker):
    name = "retention"
    interval = 1.0

    def __init__(self, rt: Runtime) -> None:
        super().__init__()
        self.rt = rt
        self._ran_at = float("-inf")

    async def tick(self) -> None:
        now = self.rt.clock.now()
        if now - self._ran_at < RUN_EVERY:
            return
        self._ran_at = now
        await retention.do_apply_retention(self.rt)
