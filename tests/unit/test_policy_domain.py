"""The policy's pure rules: windows, consent, US numbers, tiers and the quality rating."""

from __future__ import annotations

import pytest

from wagate.domain.phone import is_us_number
from wagate.domain.policy import (
    WINDOW_SECONDS,
    QualitySignals,
    check_consent,
    check_free_form,
    quality_rating,
    tier_limit,
    window_open,
)
from wagate.errors import GraphError


def code(call: object) -> int | None:
    try:
        call()  # type: ignore[operator]
    except GraphError as exc:
        return exc.code
    return None


def test_window_is_open_for_24_hours_after_the_customer_wrote() -> None:
    assert not window_open(None, 1000.0)
    assert window_open(1000.0, 1000.0 + WINDOW_SECONDS - 0.001)
    assert not window_open(1000.0, 1000.0 + WINDOW_SECONDS)
    assert code(lambda: check_free_form(None, 5.0)) == 131047
    assert code(lambda: check_free_form(0.0, WINDOW_SECONDS + 1)) == 131047
    assert code(lambda: check_free_form(0.0, 10.0)) is None


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
    assert (
        code(
            lambda: check_consent(
                category,
                consent,
                business_initiated=initiated,
                consent_required_for_all=required,
                wa_id=wa_id,
            )
        )
        == expected
    )


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
