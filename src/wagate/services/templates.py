"""Managing message templates (Business Management API): create, list, read, edit, delete.

Every template and business account is loaded with the tenant check: another organization's id answers
exactly as an unknown Graph object does on Meta. A change clears `rt.templates`, the sending path's cache.
For an account at Meta (a `cloud` number), Meta accepts each change first (`cloud_templates`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from wagate.domain import template_lifecycle as lifecycle
from wagate.domain import template_rules as rules
from wagate.domain.access import Actor
from wagate.domain.tenancy import Organization
from wagate.errors import GraphError, invalid_parameter, unknown_object
from wagate.ids import parse_id
from wagate.services import cloud_templates, simulator_sync
from wagate.services.runtime import Runtime
from wagate.store import template_lifecycle as lifecycle_sql
from wagate.store import templates as sql
from wagate.store.audit import Entry, RecordAudit, WithAudit
from wagate.store.db import Database
from wagate.store.templates import TemplateFilter, TemplateRow

DEFAULT_PAGE = 25
MAX_PAGE = 1000


async def access_business_account(rt: Runtime, org: Organization, raw_id: str) -> int:
    """A business account of `org`; anything else answers as an unknown object."""
    waba_id = parse_id(raw_id)
    if waba_id is None:
        raise unknown_object(raw_id)
    owner = await rt.db.read(lambda conn: sql.business_account_org(conn, waba_id))
    if owner is None or owner != org.id:
        raise unknown_object(raw_id)
    return waba_id


async def access_template(rt: Runtime, org: Organization, raw_id: str) -> TemplateRow:
    """A template of `org`; anything else answers as an unknown object."""
    template_id = parse_id(raw_id)
    if template_id is None:
        raise unknown_object(raw_id)
    template = await rt.db.read(lambda conn: sql.template_by_id(conn, template_id))
    if template is None or template.org_id != org.id:
        raise unknown_object(raw_id)
    return template


def _created(draft: rules.TemplateDraft, template_id: object) -> Entry:
    detail = {"name": draft.name, "language": draft.language, "category": draft.category}
    return Entry("template.create", "template", str(template_id), detail)


async def do_create_template(
    rt: Runtime, org: Organization, waba_id: int, body: Any, by: Actor
) -> dict[str, Any]:
    draft = rules.check_template_create(body)
    cloud = await cloud_templates.cloud_of(rt, waba_id)
    now = rt.clock.now()
    if cloud is not None:
        created = await cloud_templates.do_create_at_meta(rt, cloud, org, waba_id, draft, body)
        # Meta holds the template; there is no local change for the audit row to commit with.
        entry = _created(draft, created.get("id"))
        await rt.db.write(
            RecordAudit(
                org.id, by.name, entry.action, entry.target_type, entry.target_id, now, entry.detail, by.ip
            )
        )
        return created
    job = sql.InsertTemplate(org.id, waba_id, draft, now, rules.TEMPLATE_LIMIT)
    result = await rt.db.write(
        WithAudit(
            job, org.id, by, now, lambda result: _created(draft, result) if isinstance(result, int) else None
        )
    )
    for purged in job.purged:
        await simulator_sync.template_changed(rt, purged)
    if isinstance(result, sql.NameHeld):
        raise lifecycle.name_held(draft.name, result.until)
    if result == sql.LIMIT_REACHED:
        raise rules.limit_reached()
    if result == sql.HOURLY_LIMIT_REACHED:
        raise lifecycle.creation_limit_reached()
    if result == sql.DUPLICATE:
        raise rules.duplicate(draft.name, draft.language)
    rt.templates.clear()
    await simulator_sync.template_changed(rt, int(result))
    return {"id": str(result), "status": "PENDING", "category": draft.category}


async def do_edit_template(rt: Runtime, template: TemplateRow, body: Any, by: Actor) -> dict[str, Any]:
    edit = rules.check_template_edit(body, template.status, template.category, template.parameter_format)
    cloud = await cloud_templates.cloud_of(rt, template.waba_id)
    if cloud is not None:
        await cloud_templates.edit_at_meta(cloud, template, body)
    now = rt.clock.now()
    job = sql.EditTemplate(template.id, edit, now, at_meta=cloud is not None)
    entry = Entry(
        "template.edit", "template", template.id, {"name": template.name, "language": template.language}
    )
    refused = await rt.db.write(
        WithAudit(job, template.org_id, by, now, lambda refused: entry if refused is None else None)
    )
    if refused is not None:
        raise lifecycle.edit_limit_reached(refused)
    rt.templates.clear()
    await simulator_sync.template_changed(rt, template.id)
    return {"success": True}


async def do_set_template_status(
    rt: Runtime,
    template_id: int,
    status: str,
    reason: str | None = "NONE",
    category: str | None = None,
    only_from: str | None = None,
) -> bool:
    """Move a template to `status` (a review's outcome), recording its `template.status` event."""
    job = sql.SetTemplateStatus(template_id, status, rt.clock.now(), reason, category, only_from)
    changed = await rt.db.write(job)
    rt.templates.clear()
    if changed:
        await simulator_sync.template_changed(rt, template_id)
    return changed


async def do_delete_templates(
    rt: Runtime, org: Organization, waba_id: int, name: str | None, hsm_id: str | None, by: Actor
) -> dict[str, Any]:
    if not name:
        raise invalid_parameter("name: the template name is required")
    template_id = None
    if hsm_id is not None:
        try:
            template_id = int(hsm_id)
        except ValueError:
            raise invalid_parameter("hsm_id: must be a template id") from None
    cloud = await cloud_templates.cloud_of(rt, waba_id)
    if cloud is None:
        named = await rt.db.read(lambda conn: sql.templates_named(conn, waba_id, name))
        found = [t for t in named if template_id is None or t.id == template_id]
        lifecycle.check_deletable(name, [(t.language, t.status) for t in found])
    else:
        await cloud_templates.delete_at_meta(cloud, waba_id, name, template_id)
    now = rt.clock.now()
    job = lifecycle_sql.DeleteTemplates(waba_id, name, now, template_id)
    target = None if template_id is None else str(template_id)
    entry = Entry("template.delete", "template", target, {"name": name, "business_account_id": str(waba_id)})
    # At Meta the deletion is done already, so it is recorded even when no local row matched.
    deleted = await rt.db.write(
        WithAudit(job, org.id, by, now, lambda ids: entry if ids or cloud is not None else None)
    )
    if not deleted and cloud is None:
        raise GraphError(100, f"name: no template named {name} to delete")
    rt.templates.clear()
    for deleted_id in deleted:
        await simulator_sync.template_changed(rt, deleted_id)
    return {"success": True}


def list_all_templates(db: Database) -> list[TemplateRow]:
    """Every template of every organization (`wagate templates list`)."""
    return db.read_now(sql.all_templates)


def describe(template: TemplateRow, rejected_reason: str | None = None) -> dict[str, Any]:
    """A template as Meta's Graph API shows it."""
    return {
        "id": str(template.id),
        "name": template.name,
        "language": template.language,
        "status": template.status,
        "category": template.category,
        "parameter_format": template.parameter_format.upper(),
        "components": template.components,
        "message_send_ttl_seconds": template.message_send_ttl_seconds,
        "quality_score": {"score": template.quality_score, "date": int(template.updated_at)},
        "rejected_reason": rejected_reason or "NONE",
    }


async def describe_template(rt: Runtime, template: TemplateRow) -> dict[str, Any]:
    reason = None
    if template.status == "REJECTED":
        reason = await rt.db.read(lambda conn: sql.last_status_reason(conn, template))
    return describe(template, reason)


def _cursor(template_id: int) -> str:
    return base64.urlsafe_b64encode(str(template_id).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, field: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except ValueError:
        raise invalid_parameter(f"{field}: not a cursor of this list") from None


@dataclass(frozen=True, slots=True)
class ListQuery:
    name: str | None = None
    status: str | None = None
    category: str | None = None
    language: str | None = None
    fields: str | None = None
    limit: str | None = None
    after: str | None = None
    before: str | None = None


async def list_templates(rt: Runtime, waba_id: int, query: ListQuery, url: str) -> dict[str, Any]:
    """One page of the account's templates with Graph cursors; `url` is the request's URL, for `next`."""
    limit = DEFAULT_PAGE
    if query.limit is not None:
        if not query.limit.isdigit() or not 0 < int(query.limit) <= MAX_PAGE:
            raise invalid_parameter(f"limit: must be 1 to {MAX_PAGE}")
        limit = int(query.limit)
    where = TemplateFilter(
        query.name,
        query.status.upper() if query.status else None,
        query.category.upper() if query.category else None,
        query.language,
    )
    after = None if query.after is None else _decode_cursor(query.after, "after")
    before = None if query.before is None else _decode_cursor(query.before, "before")
    rows = await rt.db.read(lambda conn: sql.list_templates(conn, waba_id, where, limit, after, before))
    more = len(rows) > limit
    if more:
        rows = rows[1:] if before is not None else rows[:limit]
    wanted = None
    if query.fields:
        wanted = {f.strip() for f in query.fields.split(",") if f.strip()} | {"id"}
    rejected = [t for t in rows if t.status == "REJECTED"]
    reasons = await rt.db.read(lambda conn: {t.id: sql.last_status_reason(conn, t) for t in rejected})
    data = [
        {k: v for k, v in describe(t, reasons.get(t.id)).items() if wanted is None or k in wanted}
        for t in rows
    ]
    answer: dict[str, Any] = {"data": data}
    if rows:
        answer["paging"] = {"cursors": {"before": _cursor(rows[0].id), "after": _cursor(rows[-1].id)}}
        if more and before is None:
            base = url.split("?", 1)[0]
            params = [f"{k}={v}" for k, v in _params(query, limit).items()]
            answer["paging"]["next"] = f"{base}?{'&'.join([*params, f'after={_cursor(rows[-1].id)}'])}"
    else:
        answer["paging"] = {"cursors": {}}
    return answer


def _params(query: ListQuery, limit: int) -> dict[str, str]:
    given = {
        "name": query.name,
        "status": query.status,
        "category": query.category,
        "language": query.language,
        "fields": query.fields,
    }
    params = {k: quote(v, safe=",") for k, v in given.items() if v is not None}
    params["limit"] = str(limit)
    return params
