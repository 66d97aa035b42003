"""The one ingest path: every upstream event, from Meta over HTTP or from the in-process simulator."""

from __future__ import annotations

from wagate.services.runtime import Runtime
from wagate.store.ingest import IngestEnvelope, IngestReport


async def ingest(rt: Runtime, body: bytes, source: str) -> IngestReport:
    """Store the envelope durably and apply it, in one commit; returns once both are done."""
    report = await rt.db.write(IngestEnvelope(body, source, rt.clock.now()))
    rt.metrics.events_ingested.labels(source).inc()
    return report
