"""The simulator's template reviewer: PENDING templates of business accounts without a `cloud` number
are decided after `REVIEW_DELAY` seconds of clock time, by the rules in `domain/template_rules.review`.

Each tick also ends what time ends: a pause that is over (the template is approved again) and a
pending deletion whose 30 days are over (the template is removed and its name free again)."""

from __future__ import annotations

from wagate.domain.template_rules import REVIEW_DELAY, review
from wagate.services import template_lifecycle
from wagate.services import templates as template_service
from wagate.services.runtime import Runtime
from wagate.store import templates as sql
from wagate.workers.base import PeriodicWorker

_BATCH = 100


class TemplateReviewer(PeriodicWorker):
    name = "template-reviewer"
    interval = 0.25

    def __init__(self, rt: Runtime) -> None:
        super().__init__()
        self.rt = rt

    async def tick(self) -> None:
        await self.review_due()
        await template_lifecycle.do_release_due(self.rt, _BATCH)

    async def review_due(self) -> int:
        """Decide every template whose review is due; returns how many were decided."""
        cutoff = self.rt.clock.now() - REVIEW_DELAY
        due = await self.rt.db.read(lambda conn: sql.pending_simulator_templates(conn, cutoff, _BATCH))
        for template in due:
            outcome = review(template.category, template.components)
            await template_service.do_set_template_status(
                self.rt, template.id, outcome.status, outcome.reason, outcome.category, only_from="PENDING"
            )
        return len(due)
