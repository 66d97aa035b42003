"""Templates managed through the Business Management API: writes (with their events) and reads.

A status change is recorded as a `template.status` event carrying Meta's
`message_template_status_update` value, in the transaction that made it (`record_template_status`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from wagate.domain.template_rules import TemplateDraft, TemplateEdit
from wagate.store.db import Job
from wagate.store.events import NewEvent, record_events
from wagate.store.schema import business_accounts, events, graph_objects, phone_numbers, templates
from wagate.store.tenancy import CreateTemplate

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


def _row(row: Any) -> TemplateRow:
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
    )


def record_template_status(
    conn: Connection, template: TemplateRow, event: str, now: float, reason: str | None = "NONE"
) -> None:
    """Record a `template.status` event for `template` (its category as it is now)."""
    value = {
        "event": event,
        "message_template_id": template.id,
        "message_template_name": template.name,
        "message_template_language": template.language,
        "message_template_category": template.category,
        "reason": reason,
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
DUPLICATE = "duplicate"


@dataclass(slots=True)
class InsertTemplate(Job[int | str]):
    """Create a PENDING template and answer its id, or LIMIT_REACHED / DUPLICATE (nothing written)."""

    org_id: int
    waba_id: int
    draft: TemplateDraft
    now: float
    limit: int

    def run(self, conn: Connection) -> int | str:
        count = conn.execute(
            select(func.count()).select_from(templates).where(templates.c.waba_id == self.waba_id)
        ).scalar_one()
        if count >= self.limit:
            return LIMIT_REACHED
        if template_by_name_language(conn, self.waba_id, self.draft.name, self.draft.language) is not None:
            return DUPLICATE
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
class EditTemplate(Job[bool]):
    """Apply an edit; a change of category or components sends the template back to review (PENDING)."""

    template_id: int
    edit: TemplateEdit
    now: float

    def run(self, conn: Connection) -> bool:
        current = template_by_id(conn, self.template_id)
        if current is None:
            return False
        values: dict[str, Any] = {"updated_at": self.now}
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
        conn.execute(update(templates).where(templates.c.id == self.template_id).values(**values))
        if review and current.status != "PENDING":
            changed = replace(current, status="PENDING", category=values.get("category", current.category))
            record_template_status(conn, changed, "PENDING", self.now)
        return True


@dataclass(slots=True)
class DeleteTemplates(Job[int]):
    """Delete a business account's templates named `name` (one of them when `template_id` is given).

    Messages keep their own copy of what was sent, so their rows are untouched.
    """

    waba_id: int
    name: str
    now: float
    template_id: int | None = None

    def run(self, conn: Connection) -> int:
        query = select(templates).where(templates.c.waba_id == self.waba_id, templates.c.name == self.name)
        if self.template_id is not None:
            query = query.where(templates.c.id == self.template_id)
        found = [_row(r) for r in conn.execute(query)]
        if not found:
            return 0
        ids = [t.id for t in found]
        conn.execute(delete(templates).where(templates.c.id.in_(ids)))
        conn.execute(delete(graph_objects).where(graph_objects.c.id.in_(ids)))
        for template in found:
            record_template_status(conn, template, "DELETED", self.now)
        return len(found)


# -- reads ------------------------------------------------------------------------------------------
def template_by_id(conn: Connection, template_id: int) -> TemplateRow | None:
    row = conn.execute(select(templates).where(templates.c.id == template_id)).first()
    return None if row is None else _row(row)


def template_by_name_language(conn: Connection, waba_id: int, name: str, language: str) -> TemplateRow | None:
    row = conn.execute(
        select(templates).where(
            templates.c.waba_id == waba_id, templates.c.name == name, templates.c.language == language
        )
    ).first()
    return None if row is None else _row(row)


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
        return [_row(r) for r in rows][::-1]
    if after is not None:
        query = query.where(templates.c.id > after)
    return [_row(r) for r in conn.execute(query.order_by(templates.c.id).limit(limit + 1))]


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
        value = json.loads(raw) if raw else {}
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
    return [_row(r) for r in rows]
