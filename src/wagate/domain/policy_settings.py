"""An organization's policy settings: the JSON object of `org_policies.settings`, with its defaults.

Absent keys take the defaults below; `GET /api/v1/policy` shows the effective values, `PATCH` changes them.
"""

from __future__ import annotations

import msgspec

# Keywords are matched on the whole message, casefolded, with surrounding spaces and punctuation removed.
DEFAULT_OPT_OUT_KEYWORDS: dict[str, list[str]] = {
    "en": ["STOP", "UNSUBSCRIBE"],
    "ru": ["СТОП", "ОТПИСАТЬСЯ", "ОТПИСКА"],
}
DEFAULT_OPT_IN_KEYWORDS: dict[str, list[str]] = {"en": ["START"], "ru": ["СТАРТ"]}
DEFAULT_OPT_OUT_REPLY: dict[str, str] = {
    "en": "You will no longer receive promotional messages from us. Reply START to subscribe again.",
    "ru": "Вы больше не будете получать от нас рекламные сообщения. Чтобы подписаться снова, ответьте СТАРТ.",
}
DEFAULT_OPT_IN_REPLY: dict[str, str] = {
    "en": "You are subscribed to our news and offers again. Reply STOP to unsubscribe.",
    "ru": "Вы снова подписаны на наши новости и предложения. Чтобы отписаться, ответьте СТОП.",
}


class PolicySettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Marketing messages per contact: at most this many in any rolling 24 hours and 7 days.
    marketing_per_day: int = 1
    marketing_per_week: int = 3
    # Require a recorded opt-in for every business-initiated message (a template outside an open window),
    # not only for marketing.
    consent_required_for_all: bool = False
    # Per language: the keywords that opt a contact out of (or back into) marketing, and the replies.
    opt_out_keywords: dict[str, list[str]] = msgspec.field(
        default_factory=lambda: dict(DEFAULT_OPT_OUT_KEYWORDS)
    )
    opt_in_keywords: dict[str, list[str]] = msgspec.field(
        default_factory=lambda: dict(DEFAULT_OPT_IN_KEYWORDS)
    )
    opt_out_reply: dict[str, str] = msgspec.field(default_factory=lambda: dict(DEFAULT_OPT_OUT_REPLY))
    opt_in_reply: dict[str, str] = msgspec.field(default_factory=lambda: dict(DEFAULT_OPT_IN_REPLY))


DEFAULT_POLICY = PolicySettings()
_decoder = msgspec.json.Decoder(PolicySettings)
_encoder = msgspec.json.Encoder()


def parse_policy(raw: str | bytes) -> PolicySettings:
    """The stored settings (validated on the way in, so a stored object always parses)."""
    return _decoder.decode(raw)


def check_policy(settings: PolicySettings) -> list[str]:
    """What is wrong with `settings`, as messages for `invalid_parameter`; empty when valid."""
    problems = []
    if not 0 <= settings.marketing_per_day <= 100:
        problems.append("marketing_per_day must be between 0 and 100")
    if not 0 <= settings.marketing_per_week <= 700:
        problems.append("marketing_per_week must be between 0 and 700")
    if settings.marketing_per_week < settings.marketing_per_day:
        problems.append("marketing_per_week must not be below marketing_per_day")
    for field in ("opt_out_keywords", "opt_in_keywords"):
        for language, words in getattr(settings, field).items():
            if not words or any(not w.strip() or len(w) > 40 for w in words):
                problems.append(f"{field}.{language}: 1 or more keywords of 1 to 40 characters")
    return problems


def dump_policy(settings: PolicySettings) -> str:
    return _encoder.encode(settings).decode()
