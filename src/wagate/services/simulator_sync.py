"""Keeping the upstreams' own view of accounts and templates.

On Meta, templates live at Meta and each business portfolio has its messaging limit there. The simulator
plays Meta: it keeps its own copy, told here when wagate starts and whenever a template or an account's
tier changes, and enforces it on every send independently of wagate's checks. Every upstream that keeps
a copy (`services/upstreams.copies`: not the one at Meta, which holds its own) is told, of accounts with
a number on the simulator; nothing happens when none runs in this process.
"""

from __future__ import annotations

import functools

from wagate.domain.policy import tier_limit
from wagate.services.runtime import Runtime
from wagate.services.upstreams import copies
from wagate.store import simulator_sync as sql
from wagate.store.templates import TemplateFilter, TemplateRow, list_templates, template_by_id
from wagate.upstreams.base import TemplateCopy, UpstreamSync

_PAGE = 1000


def _tell(upstream: UpstreamSync, template: TemplateRow) -> None:
    upstream.sync_template(
        TemplateCopy(
            template.waba_id,
            template.id,
            template.name,
            template.language,
            template.status,
            template.category,
            template.parameter_format,
            template.components,
        )
    )


async def _templates_of(rt: Runtime, waba_id: int) -> list[TemplateRow]:
    found: list[TemplateRow] = []
    after: int | None = None
    while True:
        page = await rt.db.read(
            functools.partial(
                list_templates, waba_id=waba_id, where=TemplateFilter(), limit=_PAGE, after=after
            )
        )
        found += page[:_PAGE]
        if len(page) <= _PAGE:
            return found
        after = page[_PAGE - 1].id


async def _tell_accounts(
    rt: Runtime, upstreams: list[UpstreamSync], accounts: list[sql.SimulatedAccount]
) -> None:
    for account in accounts:
        for upstream in upstreams:
            upstream.sync_account(account.waba_id, tier_limit(account.messaging_tier))
        for template in await _templates_of(rt, account.waba_id):
            for upstream in upstreams:
                _tell(upstream, template)


async def sync_all(rt: Runtime) -> None:
    """Give every upstream that keeps a copy each template and messaging limit of the accounts whose
    numbers it serves."""
    upstreams: list[UpstreamSync] = [*copies(rt)]
    if upstreams:
        await _tell_accounts(rt, upstreams, await rt.db.read(sql.simulated_accounts))


async def template_changed(rt: Runtime, template_id: int) -> None:
    """A template was created, edited, deleted or changed status: the copies follow."""
    upstreams = copies(rt)
    if not upstreams:
        return
    template = await rt.db.read(lambda conn: template_by_id(conn, template_id))
    if template is None:
        for upstream in upstreams:
            upstream.drop_template(template_id)
        return
    waba_id = template.waba_id
    if await rt.db.read(lambda conn: sql.simulated_accounts(conn, waba_id=waba_id)):
        for upstream in upstreams:
            _tell(upstream, template)


async def account_changed(rt: Runtime, org_id: int) -> None:
    """An organization's messaging tier changed: the copies of its accounts follow."""
    upstreams = copies(rt)
    if not upstreams:
        return
    for account in await rt.db.read(lambda conn: sql.simulated_accounts(conn, org_id=org_id)):
        for upstream in upstreams:
            upstream.sync_account(account.waba_id, tier_limit(account.messaging_tier))


async def number_added(rt: Runtime, waba_id: int) -> None:
    """A number of the account was added or moved to another upstream: an upstream that keeps a copy
    and now serves the account learns its messaging limit and templates, as at start-up."""
    upstreams: list[UpstreamSync] = [*copies(rt)]
    if upstreams:
        accounts = await rt.db.read(lambda conn: sql.simulated_accounts(conn, waba_id=waba_id))
        await _tell_accounts(rt, upstreams, accounts)
