"""The one ingest path: every upstream event, from Meta over HTTP or from the in-process simulator."""

from __future__ import annotations

from wagate.services import simulator_sync
from wagate.services.runtime import Runtime
from wagate.services.template_lifecycle import report_pause
from wagate.store.ingest import IngestEnvelope, IngestReport

_TEMPLATE_FIELDS = frozenset({"message_template_status_update", "message_template_quality_update"})
_PAUSES = frozenset({"PAUSED", "DISABLED"})
_TIER_FIELDS = frozenset({"phone_number_quality_update", "business_capability_update"})


async def ingest(rt: Runtime, body: bytes, source: str) -> IngestReport:
    """Store the envelope durably and apply it, in one commit; returns once both are done."""
    job = IngestEnvelope(body, source, rt.clock.now())
    report = await rt.db.write(job)
    rt.metrics.events_ingested.labels(source).inc()
    await _templates_changed(rt, job)
    if any(c.field in _TIER_FIELDS for c in job.parsed.account):
        rt.tokens.clear()  # the cached organization carries its messaging tier
    return report


async def _templates_changed(rt: Runtime, job: IngestEnvelope) -> None:
    """Meta changed templates' status or quality: the sending path's cache and the simulator follow,
    and a pause is reported as one made here is."""
    changes = [c for c in job.parsed.account if c.field in _TEMPLATE_FIELDS]
    if not changes:
        return
    rt.templates.clear()
    for change in changes:
        template_id = change.value.get("message_template_id")
        if not isinstance(template_id, int | str) or not str(template_id).isdigit():
            continue
        event = str(change.value.get("event", "")).upper()
        if change.field == "message_template_status_update" and event in _PAUSES:
            title = change.value.get("other_info", {}) or {}
            report_pause(
                rt,
                int(template_id),
                str(change.value.get("message_template_name", "")),
                str(change.value.get("message_template_language", "")),
                event,
                str(title.get("title", "")) if isinstance(title, dict) else "",
            )
        await simulator_sync.template_changed(rt, int(template_id))
