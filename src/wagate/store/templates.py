"""Templates managed through the Business Management API: writes (with their events) and reads.

A status change is recorded as a `template.status` event carrying Meta's
`message_template_status_update` value, in the transaction that made it (`record_template_status`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from wagate.domain import template_lifecycle as lifecycle
from wagate.domain.template_rules import TemplateDraft, TemplateEdit
from wagate.domain.templates import StoredTemplate
from wagate.store import sealed
from wagate.store.db import Job
from wagate.store.events import NewEvent, record_events
from wagate.store.schema import (
    business_accounts,
    events,
    graph_objects,
    phone_numbers,
    template_creations,
    templates,
)
from wagate.store.tenancy import allocate_graph_id

STATUS_FIELD = "message_template_status_update"
CATEGORY_FIELD = "template_category_update"


@dataclass(frozen=True, slots=True)
class TemplateRow:
    id: int
    org_id: int
    waba_id: int
    name: str
    language: str
    category: str
    status: str
    parameter_format: str
    components: list[dict[str, Any]]
    message_send_ttl_seconds: int | None
    created_at: float
    updated_at: float
    quality_score: str = "UNKNOWN"
    pause_count: int = 0
    paused_until: float | None = None
    deleted_at: float | None = None
    approved_edits: tuple[float, ...] = ()

    def stored(self) -> StoredTemplate:
        return StoredTemplate(
            id=self.id,
            name=self.name,
            language=self.language,
            category=self.category,
            status=self.status,
            parameter_format=self.parameter_format,
            components=self.components,
            message_send_ttl_seconds=self.message_send_ttl_seconds,
        )


def template_row(row: Any) -> TemplateRow:
    return TemplateRow(
        id=int(row.id),
        org_id=int(row.org_id),
        waba_id=int(row.waba_id),
        name=row.name,
        language=row.language,
        category=row.category,
        status=row.status,
        parameter_format=row.parameter_format,
        components=json.loads(row.components),
        message_send_ttl_seconds=row.message_send_ttl_seconds,
        created_at=float(row.created_at),
        updated_at=float(row.updated_at),
        quality_score=row.quality_score,
        pause_count=int(row.pause_count),
        paused_until=row.paused_until,
        deleted_at=row.deleted_at,
        approved_edits=tuple(float(t) for t in json.loads(row.approved_edits)),
    )


def record_template_status(
    conn: Connection,
    template: TemplateRow,
    event: str,
    now: float,
    reason: str | None = "NONE",
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Record a `template.status` event for `template` (its category as it is now); `extra` adds
    Meta's `other_info` / `disable_info`."""
    value = {
        "event": event,
        "message_template_id": template.id,
        "message_template_name": template.name,
        "message_template_language": template.language,
        "message_template_category": template.category,
        "reason": reason,
        **(extra or {}),
    }
    record_events(
        conn,
        [
            NewEvent(
                template.org_id,
                "template.status",
                {"field": STATUS_FIELD, "value": value},
                now,
                waba_id=template.waba_id,
                field=STATUS_FIELD,
                meta_value=value,
            )
        ],
    )


def record_category_change(conn: Connection, template: TemplateRow, new_category: str, now: float) -> None:
    """Record a `template.category` event: Meta's completed `template_category_update`."""
    value = {
        "message_template_id": template.id,
        "message_template_name": template.name,
        "message_template_language": template.language,
        "previous_category": template.category,
        "new_category": new_category,
    }
    record_events(
        conn,
        [
            NewEvent(
                template.org_id,
                "template.category",
                {"field": CATEGORY_FIELD, "value": value},
                now,
                waba_id=template.waba_id,
                field=CATEGORY_FIELD,
                meta_value=value,
            )
        ],
    )


# -- writes -----------------------------------------------------------------------------------------
LIMIT_REACHED = "limit_reached"
HOURLY_LIMIT_REACHED = "hourly_limit_reached"
DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class NameHeld:
    """The name was deleted (PENDING_DELETION) less than `NAME_HOLD` ago; free again at `until`."""

    until: float


@dataclass(slots=True)
class InsertTemplate(Job[int | str | NameHeld]):
    """Create a PENDING template and answer its id, or LIMIT_REACHED / HOURLY_LIMIT_REACHED /
    DUPLICATE / NameHeld (nothing written). Templates of this name whose hold is over are purged first
    (`purged` lists them)."""

    org_id: int
    waba_id: int
    draft: TemplateDraft
    now: float
    limit: int
    hourly_limit: int = lifecycle.CREATIONS_PER_HOUR
    purged: list[int] = field(default_factory=list)

    def run(self, conn: Connection) -> int | str | NameHeld:
        count = conn.execute(
            select(func.count()).select_from(templates).where(templates.c.waba_id == self.waba_id)
        ).scalar_one()
        if count >= self.limit:
            return LIMIT_REACHED
        hour_ago = self.now - lifecycle.HOUR
        created = conn.execute(
            select(func.count())
            .select_from(template_creations)
            .where(template_creations.c.waba_id == self.waba_id, template_creations.c.at > hour_ago)
        ).scalar_one()
        if created >= self.hourly_limit:
            return HOURLY_LIMIT_REACHED
        held = [t for t in templates_named(conn, self.waba_id, self.draft.name) if t.deleted_at is not None]
        held_until = max((t.deleted_at + lifecycle.NAME_HOLD for t in held if t.deleted_at), default=0.0)
        if held_until > self.now:
            return NameHeld(held_until)
        if held:
            self.purged = purge_templates(conn, held, self.now)
        if template_by_name_language(conn, self.waba_id, self.draft.name, self.draft.language) is not None:
            return DUPLICATE
        conn.execute(delete(template_creations).where(template_creations.c.at <= hour_ago))
        conn.execute(insert(template_creations).values(waba_id=self.waba_id, at=self.now))
        draft = self.draft
        return CreateTemplate(
            self.org_id,
            self.waba_id,
            draft.name,
            draft.language,
            draft.category,
            "PENDING",
            draft.components,
            self.now,
            draft.parameter_format,
            draft.message_send_ttl_seconds,
        ).run(conn)


@dataclass(slots=True)
class SetTemplateStatus(Job[bool]):
    """Move a template to `status` (and optionally `category`), recording the event; False if gone or
    already there (and the category unchanged)."""

    template_id: int
    status: str
    now: float
    reason: str | None = "NONE"
    category: str | None = None
    only_from: str | None = None  # a review decides only a template still in the status it reviewed

    def run(self, conn: Connection) -> bool:
        current = template_by_id(conn, self.template_id)
        if current is None or self.only_from not in (None, current.status):
            return False
        category = self.category or current.category
        if current.status == self.status and category == current.category:
            return False
        conn.execute(
            update(templates)
            .where(templates.c.id == self.template_id)
            .values(status=self.status, category=category, updated_at=self.now)
        )
        changed = replace(current, status=self.status, category=category, updated_at=self.now)
        if category != current.category:
            record_category_change(conn, current, category, self.now)
        if current.status != self.status:
            record_template_status(conn, changed, self.status, self.now, self.reason)
        return True


@dataclass(slots=True)
class EditTemplate(Job[str | None]):
    """Apply an edit; a change of category or components sends the template back to review (PENDING).

    Answers None when done, or why an approved template may not be edited now (nothing written). An
    edit Meta has already accepted (`at_meta`) is applied regardless: the limits were Meta's to apply."""

    template_id: int
    edit: TemplateEdit
    now: float
    at_meta: bool = False

    def run(self, conn: Connection) -> str | None:
        current = template_by_id(conn, self.template_id)
        if current is None:
            return "the template is gone"
        allowance = lifecycle.edit_allowance(current.status, current.approved_edits, self.now)
        edit_times = allowance.edit_times
        if not allowance.allowed:
            if not self.at_meta:
                return allowance.details
            edit_times = [*edit_times, self.now]
        values: dict[str, Any] = {"updated_at": self.now, "approved_edits": json.dumps(edit_times)}
        if self.edit.category is not None:
            values["category"] = self.edit.category
        if self.edit.components is not None:
            values["components"] = json.dumps(self.edit.components, ensure_ascii=False)
        if self.edit.message_send_ttl_seconds is not None:
            values["message_send_ttl_seconds"] = self.edit.message_send_ttl_seconds
        review = self.edit.components is not None or (
            self.edit.category is not None and self.edit.category != current.category
        )
        if review:
            values["status"] = "PENDING"
            values["paused_until"] = None
        conn.execute(update(templates).where(templates.c.id == self.template_id).values(**values))
        if review and current.status != "PENDING":
            changed = replace(current, status="PENDING", category=values.get("category", current.category))
            record_template_status(conn, changed, "PENDING", self.now)
        return None


def purge_templates(conn: Connection, found: list[TemplateRow], now: float) -> list[int]:
    """Remove templates for good, recording DELETED for each; answers their ids.

    Messages keep their own copy of what was sent, so their rows are untouched.
    """
    ids = [t.id for t in found]
    if ids:
        conn.execute(delete(templates).where(templates.c.id.in_(ids)))
        conn.execute(delete(graph_objects).where(graph_objects.c.id.in_(ids)))
    for template in found:
        record_template_status(conn, template, "DELETED", now)
    return ids


# -- reads ------------------------------------------------------------------------------------------
def template_by_id(conn: Connection, template_id: int) -> TemplateRow | None:
    row = conn.execute(select(templates).where(templates.c.id == template_id)).first()
    return None if row is None else template_row(row)


def template_by_name_language(conn: Connection, waba_id: int, name: str, language: str) -> TemplateRow | None:
    row = conn.execute(
        select(templates).where(
            templates.c.waba_id == waba_id, templates.c.name == name, templates.c.language == language
        )
    ).first()
    return None if row is None else template_row(row)


def templates_named(conn: Connection, waba_id: int, name: str) -> list[TemplateRow]:
    rows = conn.execute(
        select(templates)
        .where(templates.c.waba_id == waba_id, templates.c.name == name)
        .order_by(templates.c.id)
    )
    return [template_row(r) for r in rows]


def all_templates(conn: Connection) -> list[TemplateRow]:
    rows = conn.execute(
        select(templates).order_by(templates.c.waba_id, templates.c.name, templates.c.language)
    )
    return [template_row(r) for r in rows]


def business_account_org(conn: Connection, waba_id: int) -> int | None:
    org_id = conn.execute(
        select(business_accounts.c.org_id).where(business_accounts.c.id == waba_id)
    ).scalar()
    return None if org_id is None else int(org_id)


@dataclass(frozen=True, slots=True)
class TemplateFilter:
    name: str | None = None
    status: str | None = None
    category: str | None = None
    language: str | None = None


def list_templates(
    conn: Connection,
    waba_id: int,
    where: TemplateFilter,
    limit: int,
    after: int | None = None,
    before: int | None = None,
) -> list[TemplateRow]:
    """Up to `limit + 1` templates in id order, after (or before) a cursor; the extra one tells there is
    more."""
    query = select(templates).where(templates.c.waba_id == waba_id)
    if where.name is not None:
        query = query.where(templates.c.name == where.name)
    if where.status is not None:
        query = query.where(templates.c.status == where.status)
    if where.category is not None:
        query = query.where(templates.c.category == where.category)
    if where.language is not None:
        query = query.where(templates.c.language == where.language)
    if before is not None:
        rows = conn.execute(
            query.where(templates.c.id < before).order_by(templates.c.id.desc()).limit(limit + 1)
        )
        return [template_row(r) for r in rows][::-1]
    if after is not None:
        query = query.where(templates.c.id > after)
    return [template_row(r) for r in conn.execute(query.order_by(templates.c.id).limit(limit + 1))]


def last_status_reason(conn: Connection, template: TemplateRow) -> str | None:
    """The reason of the latest status event of `template` (for `rejected_reason`)."""
    rows = conn.execute(
        select(events.c.meta_value)
        .where(
            events.c.waba_id == template.waba_id,
            events.c.type == "template.status",
            events.c.created_at >= template.created_at,
        )
        .order_by(events.c.id.desc())
        .limit(500)
    )
    for (raw,) in rows:
        value = json.loads(sealed.open_(conn, events.c.meta_value, raw)) if raw else {}
        if value.get("message_template_id") == template.id:
            reason = value.get("reason")
            return None if reason is None else str(reason)
    return None


def pending_simulator_templates(conn: Connection, updated_before: float, limit: int) -> list[TemplateRow]:
    """PENDING templates, unchanged since `updated_before`, of accounts whose numbers are all simulated."""
    at_meta = select(phone_numbers.c.waba_id).where(phone_numbers.c.upstream != "simulator")
    simulated = select(phone_numbers.c.waba_id).where(phone_numbers.c.upstream == "simulator")
    rows = conn.execute(
        select(templates)
        .where(
            templates.c.status == "PENDING",
            templates.c.updated_at <= updated_before,
            templates.c.waba_id.in_(simulated),
            templates.c.waba_id.not_in(at_meta),
        )
        .order_by(templates.c.updated_at)
        .limit(limit)
    )
    return [template_row(r) for r in rows]


@dataclass(slots=True)
class CreateTemplate(Job[int]):
    org_id: int
    waba_id: int
    name: str
    language: str
    category: str
    status: str
    components: list[dict[str, Any]]
    now: float
    parameter_format: str = "positional"
    message_send_ttl_seconds: int | None = None

    def run(self, conn: Connection) -> int:
        template_id = allocate_graph_id(conn, "template", self.org_id)
        conn.execute(
            insert(templates).values(
                id=template_id,
                org_id=self.org_id,
                waba_id=self.waba_id,
                name=self.name,
                language=self.language,
                category=self.category,
                status=self.status,
                parameter_format=self.parameter_format,
                components=json.dumps(self.components, ensure_ascii=False),
                message_send_ttl_seconds=self.message_send_ttl_seconds,
                created_at=self.now,
                updated_at=self.now,
            )
        )
        return template_id


def template_by_name(conn: Connection, waba_id: int, name: str, language: str) -> StoredTemplate | None:
    """The template as a send checks it (`domain/templates.check_template_send`)."""
    row = template_by_name_language(conn, waba_id, name, language)
    return None if row is None else row.stored()
