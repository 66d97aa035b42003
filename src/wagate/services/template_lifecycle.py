"""A template's quality and pauses: quality updates, the pause a RED rating brings, unpausing (by the
business, or when the pause is over) and the end of a pending deletion.

A pause is told to the business as a `template.status` event (PAUSED or DISABLED, with Meta's
`other_info`), logged at WARNING and counted in `wagate_templates_paused_total`.
"""

from __future__ import annotations

import logging
from typing import Any

from wagate.domain import template_lifecycle as lifecycle
from wagate.domain.access import Actor
from wagate.services import simulator_sync
from wagate.services.runtime import Runtime
from wagate.store import template_lifecycle as sql
from wagate.store.audit import Entry, WithAudit
from wagate.store.templates import TemplateRow

log = logging.getLogger(__name__)


async def _changed(rt: Runtime, template_ids: list[int]) -> None:
    rt.templates.clear()
    for template_id in template_ids:
        await simulator_sync.template_changed(rt, template_id)


def report_pause(rt: Runtime, template_id: int, name: str, language: str, status: str, title: str) -> None:
    """Log and count a template that was paused or disabled (here or, for `cloud` accounts, by Meta)."""
    rt.metrics.templates_paused.labels(status.lower()).inc()
    log.warning("template %s (%s, %s) is %s (%s)", template_id, name, language, status, title)


async def do_set_template_quality(rt: Runtime, template: TemplateRow, raw_score: object) -> dict[str, Any]:
    """A new quality score for `template`; RED pauses an approved one (the third time: disables it)."""
    score = lifecycle.check_quality_score(raw_score)
    change = await rt.db.write(sql.SetTemplateQuality(template.id, score, rt.clock.now()))
    await _changed(rt, [template.id])
    answer: dict[str, Any] = {"id": str(template.id), "quality_score": score, "status": template.status}
    if change is not None and change.pause is not None:
        pause = change.pause
        report_pause(rt, template.id, template.name, template.language, pause.status, pause.title)
        answer["status"] = pause.status
        if pause.until is not None:
            answer["paused_until"] = pause.until
    return answer


async def do_unpause_template(rt: Runtime, template: TemplateRow, by: Actor) -> dict[str, Any]:
    """Meta's `POST /{template_id}/unpause`: a paused template is approved again at once."""
    lifecycle.check_unpause(template.status)
    now = rt.clock.now()
    entry = Entry("template.unpause", "template", template.id, {"name": template.name})
    unpaused = await rt.db.write(
        WithAudit(
            sql.UnpauseTemplate(template.id, now), template.org_id, by, now, lambda ok: entry if ok else None
        )
    )
    if not unpaused:
        raise lifecycle.not_paused("APPROVED")  # unpaused meanwhile, by its pause's end
    await _changed(rt, [template.id])
    return {"success": True}


async def do_release_due(rt: Runtime, batch: int = 100) -> int:
    """Approve paused templates whose pause is over and remove those whose deletion is over; answers
    how many changed."""
    now = rt.clock.now()
    changed: list[int] = []
    for template_id in await rt.db.read(lambda conn: sql.pauses_due(conn, now, batch)):
        if await rt.db.write(sql.UnpauseTemplate(template_id, now, due_only=True)):
            changed.append(template_id)
    due = await rt.db.read(lambda conn: sql.deletions_due(conn, now, batch))
    if due:
        purged = await rt.db.write(sql.PurgeDeleted(due, now))
        changed += purged
    if changed:
        await _changed(rt, changed)
    return len(changed)
