"""The policy checks of a send that can be decided when it is requested (docs/policy.md).

Each refusal is a `GraphError` with Meta's code where Meta has one, and counted in the metrics. What
must be counted atomically (the messaging tier, the marketing frequency cap) is returned as `Counted`
for the accepting transaction; what time can change is checked again at dispatch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wagate.domain.policy import (
    NOTHING,
    PURPOSES,
    WINDOW_SECONDS,
    Counted,
    check_consent,
    check_free_form,
    is_us_number,
    tier_limit,
    window_open,
)
from wagate.domain.policy_settings import PolicySettings
from wagate.domain.tenancy import Organization, PhoneNumber
from wagate.errors import GraphError
from wagate.services.runtime import Runtime
from wagate.store.consent import latest_consents, load_policy
from wagate.store.policy import last_inbound, policy_facts


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


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def explain_policy(
    rt: Runtime, org: Organization, wa_id: str, purposes: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The checks beyond consent for a send to `wa_id` now: windows, the marketing frequency cap, the
    messaging tier and US marketing. Adds their reasons to `purposes` (from `explain_consent`) and
    returns the facts."""
    now = rt.clock.now()
    settings = await policy_of(rt, org.id)
    facts = await rt.db.read(lambda conn: policy_facts(conn, org.id, wa_id, now))
    windows = [
        {"phone_number_id": str(number_id), "open": window_open(at, now), "until": at + WINDOW_SECONDS}
        for number_id, at in facts.windows
    ]
    open_somewhere = any(w["open"] for w in windows)
    limit = tier_limit(org.messaging_tier)
    marketing = purposes["marketing"]
    if is_us_number(wa_id):
        _refuse(marketing, "marketing templates are not delivered to US (+1) numbers (131049)")
    per_day, per_week = settings.marketing_per_day, settings.marketing_per_week
    if facts.marketing_day >= per_day or facts.marketing_week >= per_week:
        _refuse(
            marketing,
            f"the marketing frequency cap is reached: {facts.marketing_day} in 24 hours and "
            f"{facts.marketing_week} in 7 days, of {per_day} a day and {per_week} a week (139002)",
        )
    else:
        marketing["reasons"].append(
            f"marketing frequency: {facts.marketing_day} of {per_day} in 24 hours, "
            f"{facts.marketing_week} of {per_week} in 7 days"
        )
    for number_id, at in facts.windows:
        state = "open until" if window_open(at, now) else "closed since"
        window_line = f"24-hour window with number {number_id}: {state} {_iso(at + WINDOW_SECONDS)}"
        for explained in purposes.values():
            explained["reasons"].append(window_line)
    if not open_somewhere:
        line = "no open window: only templates can be sent, and each counts as business-initiated"
        if limit is not None and not facts.holds_a_place and facts.tier_used >= limit:
            line = (
                f"no open window and the messaging tier is full ({facts.tier_used} of {limit} customers "
                "in 24 hours): a template to this customer is refused (139003)"
            )
            for explained in purposes.values():
                _refuse(explained, line)
        else:
            for explained in purposes.values():
                explained["reasons"].append(line)
    return {
        "windows": windows,
        "marketing_frequency": {
            "last_24_hours": facts.marketing_day,
            "last_7_days": facts.marketing_week,
            "per_day": per_day,
            "per_week": per_week,
        },
        "messaging_tier": {
            "tier": org.messaging_tier,
            "limit": limit,
            "used": facts.tier_used,
            "holds_a_place": facts.holds_a_place,
        },
        "us_number": is_us_number(wa_id),
    }


def _refuse(explained: dict[str, Any], reason: str) -> None:
    explained["allowed"] = False
    explained["reasons"].append(reason)
