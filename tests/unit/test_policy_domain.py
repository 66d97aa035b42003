"""The policy's pure rules: windows, consent, US numbers, tiers and the quality rating."""

from __future__ import annotations

import pytest

from wagate.domain.phone import is_us_number
from wagate.domain.policy import (
    WINDOW_SECONDS,
    Counts,
    Decision,
    PolicyInput,
    QualitySignals,
    SendFacts,
    Stage,
    decide_send,
    quality_rating,
    tier_limit,
    window_open,
)
from wagate.errors import GraphError

NOW = 10 * WINDOW_SECONDS
OPEN = NOW - 60.0  # the customer wrote a minute ago
CLOSED = NOW - WINDOW_SECONDS - 1.0
RU = "79161234567"


def policy(category: str | None, *, required: bool = False, limit: int | None = 250) -> PolicyInput:
    return PolicyInput(category, required, marketing_per_day=1, marketing_per_week=3, tier_limit=limit)


def code(verdict: GraphError | Decision) -> int | None:
    return verdict.code if isinstance(verdict, GraphError) else None


def test_window_is_open_for_24_hours_after_the_customer_wrote() -> None:
    assert not window_open(None, 1000.0)
    assert window_open(1000.0, 1000.0 + WINDOW_SECONDS - 0.001)
    assert not window_open(1000.0, 1000.0 + WINDOW_SECONDS)
    assert code(decide_send(SendFacts(RU, None, None), policy(None), 5.0)) == 131047
    assert code(decide_send(SendFacts(RU, None, 0.0), policy(None), WINDOW_SECONDS + 1)) == 131047
    assert decide_send(SendFacts(RU, None, 0.0), policy(None), 10.0) == Decision(business_initiated=False)


@pytest.mark.parametrize(
    ("wa_id", "us"),
    [
        ("16505551234", True),  # California
        ("12125551234", True),  # New York
        ("14165551234", False),  # Toronto: +1 but Canada
        ("18765551234", False),  # Jamaica
        ("79161234567", False),
        ("1", False),
    ],
)
def test_us_numbers_are_told_apart_from_the_rest_of_plus_one(wa_id: str, us: bool) -> None:
    assert is_us_number(wa_id) is us


@pytest.mark.parametrize(
    ("category", "consent", "initiated", "required", "wa_id", "expected"),
    [
        ("MARKETING", None, True, False, "79161234567", 139001),
        ("MARKETING", "opt_out", True, False, "79161234567", 131050),
        ("MARKETING", "opt_in", True, False, "79161234567", None),
        ("MARKETING", "opt_in", False, False, "79161234567", None),
        ("MARKETING", None, False, False, "79161234567", 139001),  # a window does not replace consent
        ("MARKETING", "opt_in", True, False, "16505551234", 131049),
        ("UTILITY", None, True, False, "16505551234", None),
        ("UTILITY", "opt_out", True, False, "79161234567", 139004),
        ("UTILITY", "opt_out", False, False, "79161234567", None),  # an answer inside the window
        ("UTILITY", None, True, True, "79161234567", 139004),
        ("AUTHENTICATION", "opt_in", True, True, "79161234567", None),
        ("AUTHENTICATION", None, False, True, "79161234567", None),
    ],
)
def test_consent_rules(
    category: str, consent: str | None, initiated: bool, required: bool, wa_id: str, expected: int | None
) -> None:
    facts = SendFacts(wa_id, category, CLOSED if initiated else OPEN, consent)
    verdict = decide_send(facts, policy(category, required=required), NOW)
    assert code(verdict) == expected
    if expected is None:
        assert isinstance(verdict, Decision) and verdict.business_initiated is initiated


def test_tiers_as_meta_names_them() -> None:
    assert [tier_limit(t) for t in ("TIER_250", "TIER_2K", "TIER_10K", "TIER_100K", "TIER_UNLIMITED")] == [
        250,
        2000,
        10_000,
        100_000,
        None,
    ]
    assert tier_limit("TIER_NOT_SET") == 250  # unknown: a new organization's limit


@pytest.mark.parametrize(
    ("sent", "failures", "opt_outs", "rating"),
    [
        (0, 0, 0, "GREEN"),
        (10, 4, 0, "GREEN"),  # too few signals to judge
        (10, 3, 2, "YELLOW"),
        (1000, 20, 9, "GREEN"),  # 2.9 %
        (1000, 20, 10, "YELLOW"),  # 3 %
        (100, 6, 4, "RED"),
        (1000, 60, 19, "YELLOW"),  # 7.9 %
        (1000, 60, 20, "RED"),
    ],
)
def test_quality_rating(sent: int, failures: int, opt_outs: int, rating: str) -> None:
    assert quality_rating(QualitySignals(sent, failures, opt_outs)) == rating


def test_the_free_form_refusal_says_whether_the_customer_ever_wrote() -> None:
    never = decide_send(SendFacts(RU, None, None), policy(None), NOW)
    lapsed = decide_send(SendFacts(RU, None, CLOSED), policy(None), NOW)
    assert isinstance(never, GraphError) and "has not written" in (never.details or "")
    assert isinstance(lapsed, GraphError) and "more than 24 hours" in (lapsed.details or "")


@pytest.mark.parametrize(
    ("category", "last", "limit", "needs_counts", "tier", "marketing"),
    [
        (None, OPEN, 250, False, False, False),  # a reply counts against nothing
        ("UTILITY", OPEN, 250, False, False, False),  # inside the window: not business-initiated
        ("UTILITY", CLOSED, 250, True, True, False),
        ("UTILITY", CLOSED, None, False, False, False),  # an unlimited tier is not counted
        ("MARKETING", OPEN, 250, True, False, True),  # the cap counts inside the window too
        ("MARKETING", CLOSED, 250, True, True, True),
    ],
)
def test_without_counts_the_decision_says_which_limits_still_decide(
    category: str | None, last: float, limit: int | None, needs_counts: bool, tier: bool, marketing: bool
) -> None:
    facts = SendFacts(RU, category, last, "opt_in")
    verdict = decide_send(facts, policy(category, limit=limit), NOW)
    assert isinstance(verdict, Decision)
    assert (verdict.needs_counts, verdict.tier_counted, verdict.marketing_counted) == (
        needs_counts,
        tier,
        marketing,
    )


@pytest.mark.parametrize(
    ("category", "last", "counts", "expected", "takes_place"),
    [
        ("MARKETING", CLOSED, Counts(0, False, 0, 0), None, True),
        ("MARKETING", CLOSED, Counts(0, False, 1, 1), 139002, False),  # one a day
        ("MARKETING", OPEN, Counts(0, False, 0, 3), 139002, False),  # three a week, window or not
        ("MARKETING", CLOSED, Counts(2, False, 0, 0), 139003, False),  # the tier of 2 is full
        ("MARKETING", CLOSED, Counts(2, True, 0, 0), None, False),  # this customer holds a place already
        ("UTILITY", CLOSED, Counts(2, False, 5, 5), 139003, False),  # the cap is marketing's only
        ("UTILITY", CLOSED, Counts(1, False, 0, 0), None, True),
        ("UTILITY", OPEN, Counts(2, False, 0, 0), None, False),  # an answer takes no place
    ],
)
def test_counted_limits(
    category: str, last: float, counts: Counts, expected: int | None, takes_place: bool
) -> None:
    facts = SendFacts(RU, category, last, "opt_in", counts=counts)
    verdict = decide_send(facts, policy(category, limit=2), NOW)
    assert code(verdict) == expected
    if expected is None:
        assert isinstance(verdict, Decision) and verdict.final and not verdict.needs_counts
        assert verdict.takes_tier_place is takes_place
        assert verdict.marketing_counted is (category == "MARKETING")


def test_the_cap_is_checked_before_the_tier() -> None:
    facts = SendFacts(RU, "MARKETING", CLOSED, "opt_in", counts=Counts(2, False, 1, 1))
    assert code(decide_send(facts, policy("MARKETING", limit=2), NOW)) == 139002


@pytest.mark.parametrize(
    ("status", "expected"),
    [("APPROVED", None), ("PAUSED", 132015), ("DISABLED", 132016), ("REJECTED", 132001), (None, 132001)],
)
def test_the_templates_status_decides_first(status: str | None, expected: int | None) -> None:
    facts = SendFacts(RU, "MARKETING", CLOSED, None, template=("offer", "en", status))
    at_request = decide_send(facts, policy("MARKETING"), NOW)
    at_dispatch = decide_send(facts, None, NOW, Stage.DISPATCH)
    if expected is None:
        assert code(at_request) == 139001 and isinstance(at_dispatch, Decision)
        return
    assert code(at_request) == code(at_dispatch) == expected
    assert isinstance(at_request, GraphError) and isinstance(at_dispatch, GraphError)
    assert at_dispatch.details == f"{at_request.details} (when it was due to be sent)"


@pytest.mark.parametrize(
    ("category", "last", "consent", "expected", "words"),
    [
        (None, CLOSED, None, 131047, "window closed before the message could be sent"),
        (None, None, None, 131047, "window closed before the message could be sent"),
        (None, OPEN, None, None, ""),
        ("MARKETING", CLOSED, "opt_out", 131050, "while the message waited"),
        # At dispatch the rules counted or required at acceptance are not checked again.
        ("MARKETING", CLOSED, None, None, ""),
        ("UTILITY", CLOSED, "opt_out", None, ""),
        ("MARKETING", OPEN, None, None, ""),
    ],
)
def test_at_dispatch_only_what_time_changes(
    category: str | None, last: float | None, consent: str | None, expected: int | None, words: str
) -> None:
    verdict = decide_send(SendFacts("16505551234", category, last, consent), None, NOW, Stage.DISPATCH)
    assert code(verdict) == expected
    if isinstance(verdict, GraphError):
        assert words in (verdict.details or "")
