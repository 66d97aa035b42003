"""Key rotation inside the running server: while the key ring holds an older key, re-seal what is still
under it, a small batch per column and tick, through the server's own writer.

It does what `wagate keys rotate` does, without an operator: after the new key is put first and the
server restarted, the values move while it serves. Once a whole pass finds nothing left it stops
looking (the scan is not free on a large table); `wagate keys status` and `rotate` remain the way to
confirm it and to retire the old key.
"""

from __future__ import annotations

import logging

from wagate.services.runtime import Runtime
from wagate.store.rotation import RotateBatch
from wagate.store.sealed import SEALED_COLUMNS, where_of
from wagate.workers.base import PeriodicWorker

log = logging.getLogger(__name__)

_BATCH = 100


class KeyRotator(PeriodicWorker):
    name = "key-rotator"
    interval = 0.5

    def __init__(self, rt: Runtime) -> None:
        super().__init__()
        self.rt = rt
        self.moved = 0
        keys = rt.db.keys
        # Nothing to move while the ring holds a single key.
        self.done = keys is None or len(keys.keys) == 1

    async def tick(self) -> None:
        if self.done:
            return
        moved = 0
        for column in SEALED_COLUMNS:
            moved += await self.rt.db.write(RotateBatch(where_of(column), _BATCH))
        self.moved += moved
        if not moved:
            self.done = True
            log.info("key rotation: %d values re-sealed; none left under an older key", self.moved)
