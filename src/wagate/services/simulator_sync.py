"""Keeping the simulated WhatsApp network's own view of accounts and templates.

On Meta, templates live at Meta and each business portfolio has its messaging limit there. The simulator
plays Meta: it keeps its own copy, told here when wagate starts and whenever a template or an account's
tier changes, and enforces it on every send independently of wagate's checks. Only accounts with a
number on the simulator are told; nothing happens when the simulator is not running.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from wagate.domain.policy import tier_limit
from wagate.services.runtime import Runtime
from wagate.store import simulator_sync as sql
from wagate.store.templates import TemplateFilter, TemplateRow, list_templates, template_by_id

if TYPE_CHECKING:
    from wagate.upstreams.simulator import SimulatorUpstream

_PAGE = 1000


def _tell(simulator: SimulatorUpstream, template: TemplateRow) -> None:
    simulator.sync_template(
        template.waba_id,
        template.id,
        template.name,
        template.language,
        template.status,
        template.category,
        template.parameter_format,
        template.components,
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


async def sync_all(rt: Runtime) -> None:
    """Give the simulator every template and messaging limit of accounts whose numbers it serves."""
    simulator = rt.simulator
    if simulator is None:
        return
    for account in await rt.db.read(sql.simulated_accounts):
        simulator.sync_account(account.waba_id, tier_limit(account.messaging_tier))
        for template in await _templates_of(rt, account.waba_id):
            _tell(simulator, template)


async def template_changed(rt: Runtime, template_id: int) -> None:
    """A template was created, edited, deleted or changed status: the simulator's copy follows."""
    simulator = rt.simulator
    if simulator is None:
        return
    template = await rt.db.read(lambda conn: template_by_id(conn, template_id))
    if template is None:
        known_in = simulator.template_account(template_id)
        if known_in is not None:
            simulator.forget_template(known_in, template_id)
        return
    waba_id = template.waba_id
    if await rt.db.read(lambda conn: sql.simulated_accounts(conn, waba_id=waba_id)):
        _tell(simulator, template)


async def account_changed(rt: Runtime, org_id: int) -> None:
    """An organization's messaging tier changed: the simulator's accounts of it follow."""
    simulator = rt.simulator
    if simulator is None:
        return
    for account in await rt.db.read(lambda conn: sql.simulated_accounts(conn, org_id=org_id)):
        simulator.sync_account(account.waba_id, tier_limit(account.messaging_tier))


async def number_added(rt: Runtime, waba_id: int) -> None:
    """A number of the account moved to the simulator (added, or its upstream changed): the simulator
    learns the account's messaging limit and templates, as at start-up."""
    simulator = rt.simulator
    if simulator is None:
        return
    for account in await rt.db.read(lambda conn: sql.simulated_accounts(conn, waba_id=waba_id)):
        simulator.sync_account(account.waba_id, tier_limit(account.messaging_tier))
        for template in await _templates_of(rt, account.waba_id):
            _tell(simulator, template)
