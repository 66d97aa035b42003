"""Consent without I/O: keyword matching, the current state per purpose, the verdict and its words."""

from __future__ import annotations

import pytest

from wagate.domain.consent import (
    ConsentRecord,
    KeywordIndex,
    KeywordMatch,
    consent_verdict,
    current_consents,
    keyword_texts,
    match_keyword,
    reply_for,
)
from wagate.domain.policy_settings import DEFAULT_OPT_IN_REPLY, DEFAULT_OPT_OUT_REPLY, PolicySettings
from wagate.services.consent import explain_consent

DEFAULTS = PolicySettings()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("стоп", ("opt_out", "ru")),
        ("СТОП!", ("opt_out", "ru")),
        ("«СТОП»", ("opt_out", "ru")),
        (" Stop ", ("opt_out", "en")),
        ("Отписаться", ("opt_out", "ru")),
        ("unsubscribe.", ("opt_out", "en")),
        ("...stop,", ("opt_out", "en")),
        ("START", ("opt_in", "en")),
        ("Старт!!", ("opt_in", "ru")),
    ],
)
def test_a_whole_message_that_is_a_keyword_matches(text: str, expected: tuple[str, str]) -> None:
    assert match_keyword(text, DEFAULTS) == KeywordMatch(*expected)


@pytest.mark.parametrize(
    "text",
    ["stop sending me the wrong size", "stopp", "please stop", "", "!!!", "STOP 👍", "s t o p"],
)
def test_anything_else_does_not_match(text: str) -> None:
    assert match_keyword(text, DEFAULTS) is None


def test_custom_keywords_and_the_safer_reading_of_a_word_listed_both_ways() -> None:
    settings = PolicySettings(opt_out_keywords={"de": ["Abmelden", "Halt"]}, opt_in_keywords={"de": ["HALT"]})
    index = KeywordIndex(settings)
    assert index.match("abmelden!") == KeywordMatch("opt_out", "de")
    assert index.match("halt") == KeywordMatch("opt_out", "de")
    assert index.match("stop") is None  # the organization replaced the defaults


def test_long_messages_are_not_candidates() -> None:
    settings = PolicySettings(opt_out_keywords={"en": ["x" * 40]})
    assert match_keyword("x" * 40, settings) == KeywordMatch("opt_out", "en")
    assert match_keyword(" " + "x" * 40, settings) is None
    assert keyword_texts("text", {"text": {"body": "y" * 41}}) is None


def test_which_inbound_messages_may_be_keywords() -> None:
    assert keyword_texts("text", {"text": {"body": "СТОП"}}) == (("СТОП",), "keyword", "СТОП")
    button = keyword_texts("button", {"button": {"text": "Stop promotions", "payload": "STOP"}})
    assert button == (("Stop promotions", "STOP"), "button", "Stop promotions")
    reply = keyword_texts(
        "interactive",
        {"interactive": {"type": "button_reply", "button_reply": {"id": "b1", "title": "Стоп"}}},
    )
    assert reply == (("Стоп", "b1"), "button", "Стоп")
    listed = {"interactive": {"type": "list_reply", "list_reply": {"id": "stop", "title": "Stop"}}}
    assert keyword_texts("interactive", listed) is None
    assert keyword_texts("image", {"image": {"caption": "stop"}}) is None


def test_replies_fall_back_to_english() -> None:
    assert reply_for(DEFAULTS, KeywordMatch("opt_out", "ru")) == DEFAULT_OPT_OUT_REPLY["ru"]
    assert reply_for(DEFAULTS, KeywordMatch("opt_in", "de")) == DEFAULT_OPT_IN_REPLY["en"]
    assert reply_for(PolicySettings(opt_in_reply={}), KeywordMatch("opt_in", "en")) is None


def record(
    rid: int, purpose: str, action: str, at: float, source: str = "api", proof: str | None = None
) -> ConsentRecord:
    return ConsentRecord(rid, 1, "79161112233", purpose, action, source, proof, None, at, at)


def test_the_latest_record_per_purpose_wins_then_the_highest_id() -> None:
    records = [
        record(1, "marketing", "opt_in", 100.0),
        record(4, "marketing", "opt_out", 50.0),  # recorded later, decided earlier
        record(2, "utility", "opt_in", 200.0),
        record(3, "utility", "opt_out", 200.0),
    ]
    latest = current_consents(records)
    assert latest["marketing"].id == 1
    assert latest["utility"].id == 3
    assert "authentication" not in latest
    assert current_consents(reversed(records)) == latest


def test_verdicts_and_their_words() -> None:
    stop = record(7, "marketing", "opt_out", 1795700400.0, "keyword", "СТОП")
    refused = consent_verdict("marketing", stop, consent_required_for_all=False)
    assert not refused.allowed and refused.code == 131050
    assert refused.reason.startswith("opted out by keyword «СТОП» at 2026-11-26T")
    missing = consent_verdict("marketing", None, consent_required_for_all=False)
    assert (missing.allowed, missing.code) == (False, 139001)
    assert missing.reason == "no marketing opt-in recorded: marketing is refused (139001)"
    assert consent_verdict("utility", None, consent_required_for_all=False).allowed
    required = consent_verdict("utility", None, consent_required_for_all=True)
    assert (required.allowed, required.code) == (False, 139004)
    opted_out = consent_verdict(
        "authentication", record(8, "authentication", "opt_out", 1.0), consent_required_for_all=False
    )
    assert (opted_out.allowed, opted_out.code) == (False, 139004)
    assert consent_verdict(
        "marketing", record(9, "marketing", "opt_in", 1.0), consent_required_for_all=False
    ).allowed


def test_explain_consent_covers_every_purpose() -> None:
    optin = record(3, "marketing", "opt_in", 1795700400.0, "csv", "web form")
    explained = explain_consent({"marketing": optin}, PolicySettings(consent_required_for_all=True))
    assert set(explained) == {"marketing", "utility", "authentication"}
    marketing = explained["marketing"]
    assert (marketing["state"], marketing["since"], marketing["allowed"]) == ("opted_in", 1795700400.0, True)
    assert marketing["record"]["id"] == 3 and "via csv (web form)" in marketing["reasons"][0]
    assert explained["utility"]["state"] == "none" and explained["utility"]["allowed"] is False
    assert explained["utility"]["record"] is None and explained["utility"]["since"] is None
