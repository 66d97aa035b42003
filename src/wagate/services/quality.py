"""Rating each organization's quality (GREEN, YELLOW, RED) and telling when it changes."""

from __future__ import annotations

import logging

from wagate.domain.policy import QUALITY_LEVELS
from wagate.services.runtime import Runtime
from wagate.store.quality import QualityChange, UpdateQuality

log = logging.getLogger(__name__)


async def do_update_quality(rt: Runtime) -> list[QualityChange]:
    """Rate every organization from the last 7 days' signals; each change is recorded with its
    `account.quality` event, logged (a drop as a warning) and shown in the metrics."""
    changes = await rt.db.write(UpdateQuality(rt.clock.now()))
    for change in changes:
        rt.metrics.quality.labels(str(change.org_id)).set(QUALITY_LEVELS.index(change.current))
        signals = change.signals
        if change.dropped:
            rt.metrics.quality_drops.labels(change.current).inc()
            log.warning(
                "organization %d: quality dropped from %s to %s (%d failures and %d opt-outs for %d "
                "messages in 7 days)",
                change.org_id,
                change.previous,
                change.current,
                signals.failures,
                signals.opt_outs,
                signals.sent,
            )
        else:
            log.info(
                "organization %d: quality rose from %s to %s", change.org_id, change.previous, change.current
            )
    return changes
