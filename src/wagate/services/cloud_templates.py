"""Templates of business accounts at Meta (a number on the `cloud` upstream): a create, edit or delete
goes to Meta first, with the account's token, and is applied here only once Meta has accepted it.

Meta's refusal reaches wagate's caller as Meta's own error object, and nothing changes here. The
request is checked here first, by the same rules as for any account; creation limits, duplicate and
held names, edit limits and which templates may be deleted are Meta's to decide, since the copy here
may lag behind Meta's. A created template is kept under Meta's id, with Meta's status and category,
and is never decided by the simulated reviewer: Meta's status webhooks move it on.
"""

from __future__ import annotations

from typing import Any

from wagate.domain.template_rules import CATEGORIES, TemplateDraft
from wagate.domain.tenancy import Organization
from wagate.errors import GraphError, MetaError
from wagate.services import simulator_sync
from wagate.services.runtime import Runtime
from wagate.services.upstreams import at_meta
from wagate.store import template_sync as sql
from wagate.store.template_sync import MetaTemplate
from wagate.store.templates import TemplateRow
from wagate.upstreams.base import TemplateAdmin, UpstreamError
from wagate.upstreams.cloud import MetaRefusal

_SYNC_HINT = "Meta may have made the change; `wagate templates sync` brings Meta's templates here"


async def cloud_of(rt: Runtime, waba_id: int) -> TemplateAdmin | None:
    """The upstream at Meta when the account's templates live there (it has a number at Meta); None
    when they live here."""
    if not await rt.db.read(lambda conn: sql.account_at_meta(conn, waba_id)):
        return None
    cloud = at_meta(rt)
    if cloud is None:
        raise GraphError(131016, "the cloud upstream is not configured")
    return cloud


def _refused(exc: UpstreamError) -> GraphError:
    """Meta's error object as Meta sent it; without one (no answer, or not Meta's shape), Meta's code."""
    if isinstance(exc, MetaRefusal):
        return MetaError(exc.error, exc.http_status)
    if exc.outcome_unknown:
        return GraphError(exc.code, f"{exc.details}; {_SYNC_HINT}")
    return GraphError(exc.code, exc.details)


def _meta_answer(answer: dict[str, Any], draft: TemplateDraft) -> MetaTemplate:
    try:
        template_id = int(answer["id"])
    except (KeyError, TypeError, ValueError):
        raise GraphError(131000, f"unexpected answer from Meta: {answer!r}; {_SYNC_HINT}") from None
    status = str(answer.get("status") or "PENDING").upper()
    category = str(answer.get("category") or draft.category).upper()
    return MetaTemplate(
        id=template_id,
        name=draft.name,
        language=draft.language,
        category=category if category in CATEGORIES else draft.category,
        status=status,
        parameter_format=draft.parameter_format,
        components=draft.components,
        message_send_ttl_seconds=draft.message_send_ttl_seconds,
    )


async def do_create_at_meta(
    rt: Runtime, cloud: TemplateAdmin, org: Organization, waba_id: int, draft: TemplateDraft, body: Any
) -> dict[str, Any]:
    """Create the template at Meta (the caller's body, as sent) and keep it here under Meta's id."""
    try:
        answer = await cloud.create_template(waba_id, body)
    except UpstreamError as exc:
        raise _refused(exc) from exc
    template = _meta_answer(answer, draft)
    purged = await rt.db.write(sql.AddMetaTemplate(org.id, waba_id, template, rt.clock.now()))
    rt.templates.clear()
    for template_id in [*purged, template.id]:
        await simulator_sync.template_changed(rt, template_id)
    return {"id": str(template.id), "status": template.status, "category": template.category}


async def edit_at_meta(cloud: TemplateAdmin, template: TemplateRow, body: Any) -> None:
    """Edit the template at Meta (the caller's body, as sent); Meta's refusal raises."""
    try:
        await cloud.edit_template(template.waba_id, template.id, body)
    except UpstreamError as exc:
        raise _refused(exc) from exc


async def delete_at_meta(cloud: TemplateAdmin, waba_id: int, name: str, template_id: int | None) -> None:
    """Delete the account's templates named `name` at Meta (one, by its id); Meta's refusal raises."""
    params = {"name": name}
    if template_id is not None:
        params["hsm_id"] = str(template_id)
    try:
        await cloud.delete_templates(waba_id, params)
    except UpstreamError as exc:
        raise _refused(exc) from exc
