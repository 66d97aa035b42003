"""Consent: what a contact agreed to or refused, per purpose, and the keywords that change it. Pure, no I/O.

A contact's state for a purpose is its latest record (by the time the customer decided, then by id).
Keywords are matched on a whole message: casefolded, surrounding spaces and punctuation removed, so
«СТОП!», " Stop " and "unsubscribe." match, and "stop sending me the wrong size" does not.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from wagate.domain.policy_settings import PolicySettings

PURPOSES = ("marketing", "utility", "authentication")
ACTIONS = ("opt_in", "opt_out")
OPT_IN, OPT_OUT = ACTIONS
MARKETING = "marketing"
# Only messages this short are looked at: keywords are 1 to 40 characters (`check_policy`).
MAX_KEYWORD_MESSAGE = 40
# The quick reply Meta adds to marketing templates; pressed on a marketing message, it is an opt-out.
STOP_PROMOTIONS = "stop promotions"


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    id: int
    org_id: int
    wa_id: str
    purpose: str
    action: str
    source: str
    proof: str | None
    message_wamid: str | None
    at: float  # when the customer agreed or refused
    recorded_at: float


class KeywordMatch(NamedTuple):
    action: str
    language: str


def normalize(text: str) -> str:
    """`text` casefolded, without surrounding whitespace and punctuation, inner spaces collapsed."""
    start, end = 0, len(text)
    while start < end and _is_edge(text[start]):
        start += 1
    while end > start and _is_edge(text[end - 1]):
        end -= 1
    return " ".join(text[start:end].split()).casefold()


def _is_edge(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch).startswith("P")


class KeywordIndex:
    """An organization's opt-out and opt-in keywords, ready to match messages against."""

    def __init__(self, settings: PolicySettings) -> None:
        self._words: dict[str, KeywordMatch] = {}
        # Opt-out is added last so that a word listed both ways opts out: the safer reading.
        for action, by_language in ((OPT_IN, settings.opt_in_keywords), (OPT_OUT, settings.opt_out_keywords)):
            for language, words in by_language.items():
                for word in words:
                    key = normalize(word)
                    if key and (key not in self._words or self._words[key].action != action):
                        self._words[key] = KeywordMatch(action, language)

    def match(self, text: str) -> KeywordMatch | None:
        if len(text) > MAX_KEYWORD_MESSAGE:
            return None
        return self._words.get(normalize(text))


def match_keyword(text: str, settings: PolicySettings) -> KeywordMatch | None:
    """The action and language of the keyword that `text` is, if it is one."""
    return KeywordIndex(settings).match(text)


class KeywordMessage(NamedTuple):
    """What of an inbound message may be a keyword: its texts, and where the consent would come from."""

    texts: tuple[str, ...]
    source: str  # keyword | button
    proof: str


def keyword_texts(kind: str, message: dict[str, Any]) -> KeywordMessage | None:
    """The short texts of an inbound text message or button reply that may be keywords, or None."""
    if kind == "text":
        body = _text_of(message.get("text"), "body")
        if body is not None and len(body) <= MAX_KEYWORD_MESSAGE:
            return KeywordMessage((body,), "keyword", body)
        return None
    if kind == "button":
        button = message.get("button")
        texts = (_text_of(button, "text"), _text_of(button, "payload"))
    elif kind == "interactive":
        interactive = message.get("interactive")
        if not isinstance(interactive, dict) or interactive.get("type") != "button_reply":
            return None
        reply = interactive.get("button_reply")
        texts = (_text_of(reply, "title"), _text_of(reply, "id"))
    else:
        return None
    short = tuple(t for t in texts if t is not None and len(t) <= MAX_KEYWORD_MESSAGE)
    if not short:
        return None
    return KeywordMessage(short, "button", texts[0] or short[0])


def _text_of(obj: Any, key: str) -> str | None:
    if isinstance(obj, dict) and isinstance(obj.get(key), str):
        value: str = obj[key]
        return value
    return None


def is_stop_promotions(text: str) -> bool:
    return normalize(text) == STOP_PROMOTIONS


def current_consents(records: Iterable[ConsentRecord]) -> dict[str, ConsentRecord]:
    """The latest record per purpose: the latest `at` wins, then the highest id."""
    latest: dict[str, ConsentRecord] = {}
    for record in records:
        seen = latest.get(record.purpose)
        if seen is None or (record.at, record.id) > (seen.at, seen.id):
            latest[record.purpose] = record
    return latest


@dataclass(frozen=True, slots=True)
class ConsentVerdict:
    """Whether consent allows a business-initiated message of a purpose, why, and the refusal's code."""

    allowed: bool
    reason: str
    code: int | None = None


def consent_verdict(
    purpose: str, record: ConsentRecord | None, *, consent_required_for_all: bool
) -> ConsentVerdict:
    """The consent part of the decision to send a business-initiated message of `purpose`."""
    if record is not None and record.action == OPT_OUT:
        code = 131050 if purpose == MARKETING else 139004
        return ConsentVerdict(
            False,
            f"opted out {describe_source(record)} at {iso_time(record.at)}: {purpose} is refused ({code})",
            code,
        )
    if record is not None:
        return ConsentVerdict(True, f"opted in {describe_source(record)} at {iso_time(record.at)}")
    if purpose == MARKETING:
        return ConsentVerdict(False, "no marketing opt-in recorded: marketing is refused (139001)", 139001)
    if consent_required_for_all:
        return ConsentVerdict(
            False,
            f"no {purpose} opt-in recorded and the organization requires consent for every "
            f"business-initiated message: {purpose} is refused (139004)",
            139004,
        )
    return ConsentVerdict(True, f"no {purpose} consent recorded: {purpose} messages need none")


def describe_source(record: ConsentRecord) -> str:
    """How a record came, in words: "by keyword «СТОП»", "in WhatsApp (user_preferences)", ..."""
    if record.source in ("keyword", "button") and record.proof:
        return f"by {record.source} «{record.proof}»"
    if record.source == "user_preferences":
        return "in WhatsApp (user_preferences)"
    if record.proof:
        return f"via {record.source} ({record.proof})"
    return f"via {record.source}"


def iso_time(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reply_for(settings: PolicySettings, match: KeywordMatch) -> str | None:
    """The confirmation of a keyword, in its language, else in English; None when there is neither."""
    replies = settings.opt_out_reply if match.action == OPT_OUT else settings.opt_in_reply
    return replies.get(match.language) or replies.get("en")
