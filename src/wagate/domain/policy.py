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
from enum import StrEnum

import msgspec

from wagate.domain.phone import is_us_number
from wagate.domain.templates import status_refusal
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


class Stage(StrEnum):
    """When a send is decided: when it is requested, or again when it is due to be sent."""

    REQUEST = "request"
    DISPATCH = "dispatch"


class Counts(msgspec.Struct, frozen=True):
    """The organization's counted limits as they stand for one send (acceptance only)."""

    tier_used: int  # customers holding a place in the messaging tier
    tier_held: bool  # this customer holds one already
    marketing_day: int  # marketing messages to this customer in the last 24 hours
    marketing_week: int  # and in the last 7 days


class SendFacts(msgspec.Struct, frozen=True):
    """What the database knows about one send when it is decided."""

    wa_id: str
    category: str | None  # the template's category; None for a free-form message
    last_inbound_at: float | None  # when the customer last wrote to the number
    consent: str | None = None  # the latest action for the category's purpose (opt_in, opt_out)
    # (name, language, status now; None when the template is gone), when the status is to be checked.
    template: tuple[str, str, str | None] | None = None
    # None: not counted yet (the decision then says whether the send needs counting).
    counts: Counts | None = None


class Decision(msgspec.Struct, frozen=True):
    """A send that may go. `tier_counted` and `marketing_counted` say which counted limits apply to it;
    decided without counts (`final` False), those still decide it. A final decision says what the send
    adds to them: a place in the tier (`takes_tier_place`), a marketing send (`marketing_counted`)."""

    business_initiated: bool
    tier_counted: bool = False
    marketing_counted: bool = False
    final: bool = True
    takes_tier_place: bool = False

    @property
    def needs_counts(self) -> bool:
        return not self.final and (self.tier_counted or self.marketing_counted)


def decide_send(
    facts: SendFacts, policy: PolicyInput | None, now: float, stage: Stage = Stage.REQUEST
) -> GraphError | Decision:
    """Whether a send may go, from what the database knows; Meta's error (returned, not raised) if not.

    When it is requested, `policy` (the organization's) applies in full: the template's status, the
    window (free-form), consent (templates), then the marketing cap and the messaging tier from
    `facts.counts`. When it is due (`Stage.DISPATCH`, `policy` None: the counted limits held their
    place at acceptance), only what time can change: the template's status, the window, a marketing
    opt-out; the error says so.
    """
    dispatch = stage is Stage.DISPATCH
    if facts.template is not None:
        refusal = status_refusal(*facts.template)
        if refusal is not None:
            if dispatch:
                return GraphError(refusal.code, f"{refusal.details} (when it was due to be sent)")
            return refusal
    if facts.category is None:
        if not window_open(facts.last_inbound_at, now):
            return _window_refusal(facts.last_inbound_at, dispatch)
        return Decision(business_initiated=False)
    if dispatch:
        if facts.category == "MARKETING" and facts.consent == "opt_out":
            return GraphError(
                131050, "The customer opted out of marketing messages while the message waited."
            )
        return Decision(business_initiated=not window_open(facts.last_inbound_at, now))
    assert policy is not None, "a send is requested under its organization's policy"
    business_initiated = not window_open(facts.last_inbound_at, now)
    refusal = _consent_refusal(
        facts.category,
        facts.consent,
        business_initiated=business_initiated,
        consent_required_for_all=policy.consent_required_for_all,
        wa_id=facts.wa_id,
    )
    if refusal is not None:
        return refusal
    marketing = facts.category == "MARKETING"
    tiered = business_initiated and policy.tier_limit is not None
    counts = facts.counts
    if counts is None:
        return Decision(business_initiated, tiered, marketing, final=not (tiered or marketing))
    if marketing and (
        counts.marketing_day >= policy.marketing_per_day or counts.marketing_week >= policy.marketing_per_week
    ):
        return frequency_refusal(policy.marketing_per_day, policy.marketing_per_week)
    takes_place = tiered and not counts.tier_held
    if takes_place and policy.tier_limit is not None and counts.tier_used >= policy.tier_limit:
        return tier_refusal(policy.tier_limit)
    return Decision(business_initiated, tiered, marketing, takes_tier_place=takes_place)


def _window_refusal(last_inbound_at: float | None, dispatch: bool) -> GraphError:
    if dispatch:
        return GraphError(
            131047, "The customer's 24-hour window closed before the message could be sent: send a template."
        )
    if last_inbound_at is None:
        return GraphError(
            131047,
            "The customer has not written to this number, so no 24-hour window is open: send a template "
            "instead.",
        )
    return GraphError(
        131047,
        "Message failed to send because more than 24 hours have passed since the customer last "
        "replied to this number: send a template instead.",
    )


def _consent_refusal(
    category: str,
    consent: str | None,
    *,
    business_initiated: bool,
    consent_required_for_all: bool,
    wa_id: str,
) -> GraphError | None:
    """`consent` is the contact's latest action for the category's purpose (opt_in, opt_out or None)."""
    if category == "MARKETING":
        if is_us_number(wa_id):
            return GraphError(
                131049,
                "Marketing templates are not delivered to US (+1) numbers: Meta does not deliver them.",
            )
        if consent == "opt_out":
            return GraphError(131050, "The customer opted out of marketing messages from this business.")
        if consent != "opt_in":
            return GraphError(
                139001,
                "No marketing opt-in is recorded for this customer: record their consent "
                "(POST /api/v1/contacts/{id}/consent or an import) before sending marketing.",
            )
        return None
    if not business_initiated:
        return None
    purpose = PURPOSES.get(category, "utility")
    if consent == "opt_out":
        return GraphError(139004, f"The customer opted out of {purpose} messages from this business.")
    if consent_required_for_all and consent != "opt_in":
        return GraphError(
            139004,
            f"This organization requires a recorded {purpose} opt-in before a business-initiated message.",
        )
    return None


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
