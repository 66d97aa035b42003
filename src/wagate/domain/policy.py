"""WhatsApp's messaging policy as wagate enforces it before Meta does. Pure, no I/O.

What a send is (free-form or template, and of which category), whether the customer's 24-hour window is
open, and what the organization allows decide which checks apply (docs/policy.md):

* free-form outside the window → 131047;
* a MARKETING template to a US number → 131049 (Meta does not deliver them);
* MARKETING after an opt-out → 131050; without a recorded opt-in → 139001;
* MARKETING beyond the per-contact frequency cap → 139002 (counted where the message is accepted);
* a business-initiated message (a template outside the window) to a new customer beyond the messaging
  tier → 139003 (counted where the message is accepted, so queued messages hold their place);
* a business-initiated UTILITY or AUTHENTICATION template after the contact opted out of that purpose,
  or without an opt-in when the organization requires consent for every such message → 139004.
"""

from __future__ import annotations

from dataclasses import dataclass

from wagate.domain.phone import is_us_number
from wagate.errors import GraphError

WINDOW_SECONDS = 24 * 3600.0
DAY = 24 * 3600.0
WEEK = 7 * DAY

# Unique customers reached outside open windows per rolling 24 hours; None is unlimited.
TIER_LIMITS: dict[str, int | None] = {
    "TIER_50": 50,
    "TIER_250": 250,
    "TIER_1K": 1000,
    "TIER_2K": 2000,
    "TIER_10K": 10_000,
    "TIER_100K": 100_000,
    "TIER_UNLIMITED": None,
}
TIER_ORDER = ["TIER_250", "TIER_2K", "TIER_10K", "TIER_100K", "TIER_UNLIMITED"]

PURPOSES = {"MARKETING": "marketing", "UTILITY": "utility", "AUTHENTICATION": "authentication"}


def tier_limit(tier: str) -> int | None:
    """The limit of a tier name; an unknown name is the new organization's 250."""
    return TIER_LIMITS.get(tier, 250)


def window_open(last_inbound_at: float | None, now: float) -> bool:
    return last_inbound_at is not None and now < last_inbound_at + WINDOW_SECONDS


@dataclass(frozen=True, slots=True)
class PolicyInput:
    """The organization's policy for one send, decided when it is requested; the accepting transaction
    applies it with what only the database knows (the window, the consent ledger, the counts)."""

    category: str | None  # the template's category; None for a free-form message
    consent_required_for_all: bool
    marketing_per_day: int
    marketing_per_week: int
    tier_limit: int | None  # None: unlimited

    @property
    def marketing(self) -> bool:
        return self.category == "MARKETING"

    @property
    def purpose(self) -> str | None:
        return None if self.category is None else PURPOSES.get(self.category, "utility")


def check_send_policy(
    policy: PolicyInput, wa_id: str, last_inbound_at: float | None, consent: str | None, now: float
) -> bool:
    """Refuse a send the window or consent forbid (Meta's error); returns whether it is
    business-initiated (a template to a customer without an open window)."""
    if policy.category is None:
        check_free_form(last_inbound_at, now)
        return False
    business_initiated = not window_open(last_inbound_at, now)
    check_consent(
        policy.category,
        consent,
        business_initiated=business_initiated,
        consent_required_for_all=policy.consent_required_for_all,
        wa_id=wa_id,
    )
    return business_initiated


def check_free_form(last_inbound_at: float | None, now: float) -> None:
    if last_inbound_at is None:
        raise GraphError(
            131047,
            "The customer has not written to this number, so no 24-hour window is open: send a template "
            "instead.",
        )
    if not window_open(last_inbound_at, now):
        raise GraphError(
            131047,
            "Message failed to send because more than 24 hours have passed since the customer last "
            "replied to this number: send a template instead.",
        )


def check_consent(
    category: str,
    consent: str | None,
    *,
    business_initiated: bool,
    consent_required_for_all: bool,
    wa_id: str,
) -> None:
    """`consent` is the contact's latest action for the category's purpose (opt_in, opt_out or None)."""
    if category == "MARKETING":
        if is_us_number(wa_id):
            raise GraphError(
                131049,
                "Marketing templates are not delivered to US (+1) numbers: Meta does not deliver them.",
            )
        if consent == "opt_out":
            raise GraphError(131050, "The customer opted out of marketing messages from this business.")
        if consent != "opt_in":
            raise GraphError(
                139001,
                "No marketing opt-in is recorded for this customer: record their consent "
                "(POST /api/v1/contacts/{id}/consent or an import) before sending marketing.",
            )
        return
    if not business_initiated:
        return
    purpose = PURPOSES.get(category, "utility")
    if consent == "opt_out":
        raise GraphError(139004, f"The customer opted out of {purpose} messages from this business.")
    if consent_required_for_all and consent != "opt_in":
        raise GraphError(
            139004,
            f"This organization requires a recorded {purpose} opt-in before a business-initiated message.",
        )


def tier_refusal(limit: int) -> GraphError:
    return GraphError(
        139003,
        f"The messaging limit of {limit} unique customers reached outside an open window in 24 hours is "
        "reached: this customer can be messaged when they write in or when places free up.",
    )


def frequency_refusal(per_day: int, per_week: int) -> GraphError:
    return GraphError(
        139002,
        f"This customer already received the organization's maximum of marketing messages "
        f"({per_day} a day, {per_week} a week).",
    )


# -- quality ------------------------------------------------------------------------------------------
QUALITY_WINDOW = 7 * DAY
QUALITY_LEVELS = ("GREEN", "YELLOW", "RED")
# Failures that mean the customer did not want the message, or Meta judged it unwanted: undeliverable
# (which includes a customer who blocked the business), ecosystem limits, stopped marketing.
NEGATIVE_FAILURES = (131026, 131049, 131050)


@dataclass(frozen=True, slots=True)
class QualitySignals:
    sent: int  # outbound messages of the last 7 days
    failures: int  # of them, failed with one of NEGATIVE_FAILURES
    opt_outs: int  # opt-outs recorded in the last 7 days

    @property
    def negative(self) -> int:
        return self.failures + self.opt_outs


def quality_rating(signals: QualitySignals) -> str:
    """wagate's own rating, in Meta's three levels (Meta does not publish its formula): the share of
    negative signals among messages sent over 7 days, with a minimum count so a handful of messages
    cannot drop it. RED at 8 % and 10 signals, YELLOW at 3 % and 5."""
    rate = signals.negative / max(signals.sent, 1)
    if signals.negative >= 10 and rate >= 0.08:
        return "RED"
    if signals.negative >= 5 and rate >= 0.03:
        return "YELLOW"
    return "GREEN"
