"""Templates of business accounts at Meta, kept here under Meta's ids: imported as Meta lists them, or
stored as Meta answered a creation made through wagate."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, select, update

from wagate.store.db import Job
from wagate.store.schema import graph_objects, phone_numbers, templates
from wagate.store.templates import (
    TemplateRow,
    purge_templates,
    record_template_status,
    template_by_id,
    template_by_name_language,
)
from wagate.store.tenancy import allocate_graph_id

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MetaTemplate:
    """A template as Meta's list shows it, parsed."""

    id: int
    name: str
    language: str
    category: str
    status: str
    parameter_format: str  # positional | named
    components: list[dict[str, Any]]
    message_send_ttl_seconds: int | None = None
    quality_score: str | None = None


@dataclass(slots=True)
class ImportOutcome:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # Meta's id names another object here


def _values(template: MetaTemplate, now: float) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": template.name,
        "language": template.language,
        "category": template.category,
        "status": template.status,
        "parameter_format": template.parameter_format,
        "components": json.dumps(template.components, ensure_ascii=False),
        "message_send_ttl_seconds": template.message_send_ttl_seconds,
        "updated_at": now,
    }
    if template.quality_score is not None:
        values["quality_score"] = template.quality_score
    return values


def _same(row: TemplateRow, template: MetaTemplate) -> bool:
    return (
        row.id == template.id
        and row.category == template.category
        and row.status == template.status
        and row.parameter_format == template.parameter_format
        and row.components == template.components
        and row.message_send_ttl_seconds == template.message_send_ttl_seconds
        and (template.quality_score is None or row.quality_score == template.quality_score)
    )


@dataclass(slots=True)
class ImportTemplates(Job[ImportOutcome]):
    """Create or update the account's templates from Meta's; a local template of the same name and
    language but another id takes Meta's id. A status that changed is recorded as Meta's status event."""

    org_id: int
    waba_id: int
    found: list[MetaTemplate]
    now: float

    def run(self, conn: Connection) -> ImportOutcome:
        outcome = ImportOutcome()
        for template in self.found:
            row = template_by_id(conn, template.id)
            if row is not None and row.waba_id != self.waba_id:
                log.warning("sync: template %s belongs to another business account; skipped", template.id)
                outcome.skipped.append(template.id)
                continue
            if row is None:
                row = template_by_name_language(conn, self.waba_id, template.name, template.language)
                if row is not None and not self._rekey(conn, row, template.id):
                    outcome.skipped.append(template.id)
                    continue
            if row is None:
                if not self._create(conn, template):
                    outcome.skipped.append(template.id)
                    continue
                outcome.created.append(template.id)
            elif _same(row, template):
                outcome.unchanged.append(template.id)
            else:
                conn.execute(
                    update(templates)
                    .where(templates.c.id == template.id)
                    .values(**_values(template, self.now))
                )
                if row.status != template.status:
                    changed = replace(row, id=template.id, category=template.category, status=template.status)
                    record_template_status(conn, changed, template.status, self.now)
                outcome.updated.append(template.id)
        return outcome

    def _taken(self, conn: Connection, object_id: int) -> bool:
        return (
            conn.execute(select(graph_objects.c.id).where(graph_objects.c.id == object_id)).first()
            is not None
        )

    def _rekey(self, conn: Connection, row: TemplateRow, meta_id: int) -> bool:
        if self._taken(conn, meta_id):
            log.warning("sync: Meta's template id %s names another object here; skipped", meta_id)
            return False
        allocate_graph_id(conn, "template", self.org_id, meta_id)
        conn.execute(update(templates).where(templates.c.id == row.id).values(id=meta_id))
        conn.execute(graph_objects.delete().where(graph_objects.c.id == row.id))
        return True

    def _create(self, conn: Connection, template: MetaTemplate) -> bool:
        if self._taken(conn, template.id):
            log.warning("sync: Meta's template id %s names another object here; skipped", template.id)
            return False
        allocate_graph_id(conn, "template", self.org_id, template.id)
        conn.execute(
            templates.insert().values(
                id=template.id,
                org_id=self.org_id,
                waba_id=self.waba_id,
                created_at=self.now,
                **_values(template, self.now),
            )
        )
        return True


@dataclass(slots=True)
class AddMetaTemplate(Job[list[int]]):
    """A template Meta has just created, stored under Meta's id. A template here of the same name and
    language can only be a stale copy (Meta refuses duplicates and held names): it is removed first,
    and its id answered."""

    org_id: int
    waba_id: int
    template: MetaTemplate
    now: float

    def run(self, conn: Connection) -> list[int]:
        new = self.template
        stale = template_by_name_language(conn, self.waba_id, new.name, new.language)
        purged = purge_templates(conn, [stale], self.now) if stale is not None else []
        allocate_graph_id(conn, "template", self.org_id, new.id)
        conn.execute(
            templates.insert().values(
                id=new.id,
                org_id=self.org_id,
                waba_id=self.waba_id,
                created_at=self.now,
                **_values(new, self.now),
            )
        )
        return purged


def account_at_meta(conn: Connection, waba_id: int) -> bool:
    """Whether the business account has a number on the `cloud` upstream: its templates live at Meta."""
    found = conn.execute(
        select(phone_numbers.c.id).where(
            phone_numbers.c.waba_id == waba_id, phone_numbers.c.upstream == "cloud"
        )
    ).first()
    return found is not None


def cloud_business_accounts(conn: Connection) -> list[tuple[int, int]]:
    """(business account id, organization id) of every account with a number on the `cloud` upstream."""
    rows = conn.execute(
        select(phone_numbers.c.waba_id, phone_numbers.c.org_id)
        .where(phone_numbers.c.upstream == "cloud")
        .distinct()
        .order_by(phone_numbers.c.waba_id)
    )
    return [(int(r.waba_id), int(r.org_id)) for r in rows]
