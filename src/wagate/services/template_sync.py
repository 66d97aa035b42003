"""`wagate templates sync`: the templates of business accounts whose numbers are at Meta (the `cloud`
upstream), read from Meta page by page and imported or updated here with Meta's ids."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from wagate.domain.template_rules import CATEGORIES
from wagate.services import simulator_sync
from wagate.services.runtime import Runtime
from wagate.store import template_sync as sql
from wagate.store.template_sync import MetaTemplate
from wagate.upstreams.base import TemplateAdmin, UpstreamError

log = logging.getLogger(__name__)

FIELDS = "id,name,language,category,status,components,parameter_format,message_send_ttl_seconds,quality_score"
PAGE_SIZE = 100
MAX_PAGES = 1000  # 100,000 templates: far beyond Meta's per-account limit; stops a cursor that loops


@dataclass(frozen=True, slots=True)
class AccountSync:
    waba_id: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    error: str | None = None


def parse_meta_template(raw: Any) -> MetaTemplate | None:
    """One entry of Meta's list, or None when it lacks what a template needs."""
    if not isinstance(raw, dict):
        return None
    try:
        template_id = int(raw["id"])
        name, language, status = str(raw["name"]), str(raw["language"]), str(raw["status"]).upper()
    except (KeyError, TypeError, ValueError):
        return None
    category = str(raw.get("category") or "UTILITY").upper()
    components = raw.get("components")
    if category not in CATEGORIES or not isinstance(components, list):
        return None
    ttl = raw.get("message_send_ttl_seconds")
    quality = raw.get("quality_score")
    score = quality.get("score") if isinstance(quality, dict) else None
    return MetaTemplate(
        id=template_id,
        name=name,
        language=language,
        category=category,
        status=status,
        parameter_format=str(raw.get("parameter_format") or "positional").lower(),
        components=[c for c in components if isinstance(c, dict)],
        message_send_ttl_seconds=ttl if isinstance(ttl, int) and not isinstance(ttl, bool) else None,
        quality_score=str(score).upper() if isinstance(score, str) else None,
    )


async def fetch_templates(
    cloud: TemplateAdmin, waba_id: int, page_size: int = PAGE_SIZE
) -> list[MetaTemplate]:
    """Every template of the account at Meta, following the `after` cursors."""
    found: list[MetaTemplate] = []
    params = {"fields": FIELDS, "limit": str(page_size)}
    for _ in range(MAX_PAGES):
        page = await cloud.template_page(waba_id, params)
        for raw in page.get("data") or []:
            template = parse_meta_template(raw)
            if template is None:
                log.warning("sync: account %s: an entry of Meta's list is not a template: %r", waba_id, raw)
            else:
                found.append(template)
        paging = page.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        if not paging.get("next") or not after:
            break
        params = {**params, "after": str(after)}
    return found


async def do_sync_templates(
    rt: Runtime, cloud: TemplateAdmin, page_size: int = PAGE_SIZE
) -> list[AccountSync]:
    """Import every `cloud` account's templates from Meta; an account Meta refuses is reported, not fatal."""
    accounts = await rt.db.read(sql.cloud_business_accounts)
    results = []
    for waba_id, org_id in accounts:
        try:
            found = await fetch_templates(cloud, waba_id, page_size)
        except UpstreamError as exc:
            log.warning("sync: account %s: Meta answered %s", waba_id, exc)
            results.append(AccountSync(waba_id, error=str(exc)))
            continue
        outcome = await rt.db.write(sql.ImportTemplates(org_id, waba_id, found, rt.clock.now()))
        changed = outcome.created + outcome.updated
        if changed:
            rt.templates.clear()
        for template_id in changed:
            await simulator_sync.template_changed(rt, template_id)
        results.append(
            AccountSync(
                waba_id,
                len(outcome.created),
                len(outcome.updated),
                len(outcome.unchanged),
                len(outcome.skipped),
            )
        )
    return results
