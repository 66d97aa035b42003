"""The policy checks of a send that can be decided when it is requested (docs/policy.md).

Each refusal is a `GraphError` with Meta's code where Meta has one, and counted in the metrics. What
must be counted atomically (the messaging tier, the marketing frequency cap) is returned as `Counted`
for the accepting transaction; what time can change is checked again at dispatch.
"""

from __future__ import annotations

from wagate.domain.policy import (
    NOTHING,
    PURPOSES,
    Counted,
    check_consent,
    check_free_form,
    tier_limit,
    window_open,
)
from wagate.domain.policy_settings import PolicySettings
from wagate.domain.tenancy import Organization, PhoneNumber
from wagate.errors import GraphError
from wagate.services.runtime import Runtime
from wagate.store.consent import latest_consents, load_policy
from wagate.store.policy import last_inbound


async def check_policy(
    rt: Runtime, org: Organization, number: PhoneNumber, wa_id: str, category: str | None
) -> Counted:
    """Refuse a send WhatsApp's rules or the organization's policy forbid; `category` is None for
    free-form messages, else the template's category."""
    try:
        return await _check(rt, org, number, wa_id, category)
    except GraphError as exc:
        rt.metrics.policy_refusals.labels(str(exc.code), "request").inc()
        raise


async def _check(
    rt: Runtime, org: Organization, number: PhoneNumber, wa_id: str, category: str | None
) -> Counted:
    now = rt.clock.now()
    last = await customer_last_wrote(rt, number.id, wa_id)
    if category is None:
        check_free_form(last, now)
        return NOTHING
    business_initiated = not window_open(last, now)
    settings = await policy_of(rt, org.id)
    consent = None
    if category == "MARKETING" or business_initiated:
        purpose = PURPOSES.get(category, "utility")
        latest = await rt.db.read(lambda conn: latest_consents(conn, org.id, [wa_id]))
        record = latest.get((wa_id, purpose))
        consent = None if record is None else record.action
    check_consent(
        category,
        consent,
        business_initiated=business_initiated,
        consent_required_for_all=settings.consent_required_for_all,
        wa_id=wa_id,
    )
    marketing = category == "MARKETING"
    return Counted(
        tier_limit=tier_limit(org.messaging_tier) if business_initiated else None,
        marketing_per_day=settings.marketing_per_day if marketing else None,
        marketing_per_week=settings.marketing_per_week if marketing else None,
    )


async def customer_last_wrote(rt: Runtime, number_id: int, wa_id: str) -> float | None:
    key = (number_id, wa_id)
    cached = rt.windows.get(key)
    if cached is not None and window_open(cached, rt.clock.now()):
        return cached
    found = await rt.db.read(lambda conn: last_inbound(conn, number_id, wa_id))
    if found is not None:
        rt.windows.put(key, found)
    return found


async def policy_of(rt: Runtime, org_id: int) -> PolicySettings:
    settings = rt.policies.get(org_id)
    if settings is None:
        settings = await rt.db.read(lambda conn: load_policy(conn, org_id))
        rt.policies.put(org_id, settings)
    return settings
