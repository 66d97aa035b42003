"""The organization's policy for sends, and the explanation of its decisions (docs/policy.md).

The checks themselves run where the send is accepted (`store/send_policy.py`), with the window and the
consent ledger read for the whole batch, and again at dispatch for what time can change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wagate.domain.phone import is_us_number
from wagate.domain.policy import WINDOW_SECONDS, PolicyInput, tier_limit, window_open
from wagate.domain.policy_settings import PolicySettings
from wagate.domain.tenancy import Organization
from wagate.services.runtime import Runtime
from wagate.store.consent import load_policy
from wagate.store.policy import policy_facts


async def policy_for(rt: Runtime, org: Organization, category: str | None) -> PolicyInput:
    """The organization's policy for a send (`category` None for free-form), applied by the accepting
    transaction with the customer's window and consents."""
    settings = await policy_of(rt, org.id)
    return PolicyInput(
        category=category,
        consent_required_for_all=settings.consent_required_for_all,
        marketing_per_day=settings.marketing_per_day,
        marketing_per_week=settings.marketing_per_week,
        tier_limit=tier_limit(org.messaging_tier),
    )


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
