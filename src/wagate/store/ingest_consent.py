"""Keyword opt-outs and opt-ins, applied in the ingest transaction that stores the customer's message.

A customer who writes «СТОП» (or presses "Stop promotions" under a marketing template) is opted out of
marketing in the same commit that stores the message. The organization's confirmation goes after that
commit, through the one send call, from the same business number (`workers/consent_replies.py`).
The ingest path is hot: only short texts are looked at, and each organization's settings are read
once per batch, only when one of its messages may be a keyword.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import msgspec
from sqlalchemy import Connection, bindparam, select

from wagate.domain.consent import MARKETING, KeywordIndex, reply_for
from wagate.domain.inbound import InboundDecision, decide, keyword_match, may_stop_promotions
from wagate.domain.tenancy import PhoneNumber
from wagate.store import sealed
from wagate.store.consent import NewConsent, load_policies, record_consents
from wagate.store.schema import messages
from wagate.store.sql import many

_template_decoder = msgspec.json.Decoder(dict[str, object])
_CUSTOMER_MESSAGE = select(
    messages.c.phone_number_id,
    messages.c.wa_id,
    messages.c.content,
    messages.c.context_wamid,
    messages.c.created_at,
).where(
    messages.c.org_id == bindparam("org_id"),
    messages.c.wamid == bindparam("wamid"),
    messages.c.direction == "in",
)
_MARKETING_MESSAGES = select(messages.c.wamid, messages.c.content).where(
    messages.c.wamid.in_(many("wamids")), messages.c.category == "MARKETING"
)


@dataclass(frozen=True, slots=True)
class KeywordCandidate:
    """An inbound message just stored that may be a keyword."""

    number: PhoneNumber
    wamid: str  # wagate's id of the customer's message
    decision: InboundDecision


def apply_keywords(conn: Connection, candidates: list[KeywordCandidate], now: float) -> int:
    """Record the consents that keyword messages carry (each with its `contact.consent` event); the
    confirmation is sent after the commit (`workers/consent_replies.py`). Returns how many."""
    if not candidates:
        return 0
    policies = load_policies(conn, list({c.number.org_id for c in candidates}))
    indexes = {org_id: KeywordIndex(settings) for org_id, settings in policies.items()}
    stop_languages = _stop_promotions(conn, [c.decision for c in candidates])
    new_consents = []
    for c in candidates:
        keyword = c.decision.keyword
        assert keyword is not None
        context = c.decision.context_wamid
        language = stop_languages.get(context) if context is not None else None
        match = keyword_match(keyword, indexes[c.number.org_id], language)
        if match is None:
            continue
        new_consents.append(
            NewConsent(
                org_id=c.number.org_id,
                wa_id=c.decision.contact.wa_id,
                purpose=MARKETING,
                action=match.action,
                source=keyword.source,
                proof=keyword.proof,
                message_wamid=c.wamid,
                # Meta's timestamps are whole seconds; the time we received the keyword is at least
                # as late and precise, so a record made moments before it (a sign-up) sorts first.
                at=max(c.decision.at, now),
            )
        )
    record_consents(conn, new_consents, now)
    return len(new_consents)


@dataclass(frozen=True, slots=True)
class Confirmation:
    """The answer to a customer's keyword: from the number they wrote to, in their keyword's language."""

    number_id: int
    wa_id: str
    text: str


def keyword_confirmation(conn: Connection, org_id: int, wamid: str) -> Confirmation | None:
    """The confirmation that the organization's policy gives the keyword message `wamid`, decided as
    the ingest commit decided its consent; None when the message carries none or no reply is set."""
    row = conn.execute(_CUSTOMER_MESSAGE, {"org_id": org_id, "wamid": wamid}).first()
    if row is None:
        return None
    try:
        message = _template_decoder.decode(sealed.open_(conn, messages.c.content, row.content))
    except msgspec.DecodeError:
        return None
    decision = decide(message | {"from": row.wa_id}, None, row.created_at, {})
    decision = replace(decision, context_wamid=row.context_wamid)
    if decision.keyword is None:
        return None
    policy = load_policies(conn, [org_id])[org_id]
    language = _stop_promotions(conn, [decision]).get(row.context_wamid or "")
    match = keyword_match(decision.keyword, KeywordIndex(policy), language)
    if match is None:
        return None
    text = reply_for(policy, match)
    return None if text is None else Confirmation(row.phone_number_id, row.wa_id, text)


def _stop_promotions(conn: Connection, decisions: list[InboundDecision]) -> dict[str, str]:
    """The marketing templates that "Stop promotions" buttons answer, with each template's language."""
    wanted = {d.context_wamid for d in decisions if d.context_wamid is not None and may_stop_promotions(d)}
    if not wanted:
        return {}
    return {
        row.wamid: _language(sealed.open_(conn, messages.c.content, row.content))
        for row in conn.execute(_MARKETING_MESSAGES, {"wamids": list(wanted)})
    }


def _language(content: str) -> str:
    """The language of a template send's content ("ru" for "ru" or "ru_RU"); English if unknown."""
    try:
        language = _template_decoder.decode(content).get("language")
    except msgspec.DecodeError:
        return "en"
    code = language.get("code") if isinstance(language, dict) else None
    return code.split("_")[0].lower() if isinstance(code, str) and code else "en"
