"""A template's life after creation, in storage: deletion, quality updates, pauses and their end.

Each change records its event in the same transaction: `template.status` (Meta's
`message_template_status_update`) and `template.quality` (`message_template_quality_update`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Connection, select, update

from wagate.domain import template_lifecycle as lifecycle
from wagate.domain.template_lifecycle import Pause
from wagate.store.db import Job
from wagate.store.events import NewEvent, record_events
from wagate.store.schema import templates
from wagate.store.templates import (
    TemplateRow,
    purge_templates,
    record_template_status,
    template_by_id,
    template_row,
    templates_named,
)

QUALITY_FIELD = "message_template_quality_update"


def record_quality_change(conn: Connection, template: TemplateRow, new_score: str, now: float) -> None:
    """Record a `template.quality` event: Meta's `message_template_quality_update`."""
    value = {
        "previous_quality_score": template.quality_score,
        "new_quality_score": new_score,
        "message_template_id": template.id,
        "message_template_name": template.name,
        "message_template_language": template.language,
    }
    record_events(
        conn,
        [
            NewEvent(
                template.org_id,
                "template.quality",
                {"field": QUALITY_FIELD, "value": value},
                now,
                waba_id=template.waba_id,
                field=QUALITY_FIELD,
                meta_value=value,
            )
        ],
    )


@dataclass(slots=True)
class DeleteTemplates(Job[list[int]]):
    """Delete a business account's templates named `name` (one of them when `template_id` is given):
    an approved or paused one goes PENDING_DELETION and keeps its row (holding the name), any other is
    removed. Disabled templates and those already pending deletion are left alone. Answers the ids."""

    waba_id: int
    name: str
    now: float
    template_id: int | None = None

    def run(self, conn: Connection) -> list[int]:
        found = [
            t
            for t in templates_named(conn, self.waba_id, self.name)
            if (self.template_id is None or t.id == self.template_id)
            and t.status not in lifecycle.UNDELETABLE
            and t.deleted_at is None
        ]
        removed = [t for t in found if lifecycle.deleted_status(t.status) == "DELETED"]
        purge_templates(conn, removed, self.now)
        for template in found:
            if template in removed:
                continue
            conn.execute(
                update(templates)
                .where(templates.c.id == template.id)
                .values(
                    status="PENDING_DELETION", deleted_at=self.now, paused_until=None, updated_at=self.now
                )
            )
            record_template_status(conn, template, "PENDING_DELETION", self.now)
        return [t.id for t in found]


@dataclass(frozen=True, slots=True)
class QualityChange:
    template: TemplateRow  # as it was before the update
    pause: Pause | None


@dataclass(slots=True)
class SetTemplateQuality(Job[QualityChange | None]):
    """Record a new quality score; RED pauses (or, the third time, disables) an approved template.
    None when the template is gone."""

    template_id: int
    score: str
    now: float

    def run(self, conn: Connection) -> QualityChange | None:
        current = template_by_id(conn, self.template_id)
        if current is None:
            return None
        pause = lifecycle.pause_for_quality(current.status, self.score, current.pause_count, self.now)
        record_quality_change(conn, current, self.score, self.now)
        values: dict[str, object] = {"quality_score": self.score, "updated_at": self.now}
        if pause is not None:
            values.update(status=pause.status, pause_count=pause.pause_count, paused_until=pause.until)
        conn.execute(update(templates).where(templates.c.id == self.template_id).values(**values))
        if pause is not None:
            changed = replace(current, status=pause.status)
            extra = lifecycle.pause_info(pause, self.now)
            record_template_status(conn, changed, pause.status, self.now, None, extra)
        return QualityChange(current, pause)


@dataclass(slots=True)
class UnpauseTemplate(Job[bool]):
    """A PAUSED template is APPROVED again (when `due_only`, only once its pause is over)."""

    template_id: int
    now: float
    due_only: bool = False

    def run(self, conn: Connection) -> bool:
        current = template_by_id(conn, self.template_id)
        if current is None or current.status != "PAUSED":
            return False
        if self.due_only and (current.paused_until is None or current.paused_until > self.now):
            return False
        conn.execute(
            update(templates)
            .where(templates.c.id == self.template_id)
            .values(status="APPROVED", paused_until=None, updated_at=self.now)
        )
        changed = replace(current, status="APPROVED")
        record_template_status(conn, changed, "APPROVED", self.now, "NONE", lifecycle.UNPAUSE_INFO)
        return True


@dataclass(slots=True)
class PurgeDeleted(Job[list[int]]):
    """Remove templates whose pending deletion (and name hold) is over; answers their ids."""

    template_ids: list[int]
    now: float

    def run(self, conn: Connection) -> list[int]:
        cutoff = self.now - lifecycle.NAME_HOLD
        rows = conn.execute(
            select(templates).where(
                templates.c.id.in_(self.template_ids),
                templates.c.status == "PENDING_DELETION",
                templates.c.deleted_at <= cutoff,
            )
        )
        return purge_templates(conn, [template_row(r) for r in rows], self.now)


# -- reads ------------------------------------------------------------------------------------------
def pauses_due(conn: Connection, now: float, limit: int) -> list[int]:
    rows = conn.execute(
        select(templates.c.id)
        .where(templates.c.status == "PAUSED", templates.c.paused_until <= now)
        .order_by(templates.c.paused_until)
        .limit(limit)
    )
    return [int(r.id) for r in rows]


def deletions_due(conn: Connection, now: float, limit: int) -> list[int]:
    rows = conn.execute(
        select(templates.c.id)
        .where(templates.c.status == "PENDING_DELETION", templates.c.deleted_at <= now - lifecycle.NAME_HOLD)
        .order_by(templates.c.deleted_at)
        .limit(limit)
    )
    return [int(r.id) for r in rows]
