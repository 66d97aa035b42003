"""Housekeeping writes that run on a schedule."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete

from wagate.store.db import Job
from wagate.store.schema import idempotency_keys


@dataclass(slots=True)
class PruneIdempotencyKeys(Job[int]):
    older_than: float

    def run(self, conn: Connection) -> int:
        return int(
            conn.execute(
                delete(idempotency_keys).where(idempotency_keys.c.created_at < self.older_than)
            ).rowcount
        )
