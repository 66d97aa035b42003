"""Keyword opt-outs and opt-ins, applied in the ingest transaction that stores the customer's message.

A customer who writes «СТОП» (or presses "Stop promotions" under a marketing template) is opted out of
marketing in the same commit that stores the message, and the organization's confirmation is queued
from the same business number. The ingest path is hot: only short texts are looked at, and each
organization's settings are read once per batch, only when one of its messages may be a keyword.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from sqlalchemy import Connection, select

from wagate.domain.consent import (
    MARKETING,
    OPT_OUT,
    KeywordIndex,
    KeywordMatch,
    KeywordMessage,
    is_stop_promotions,
    reply_for,
)
from wagate.domain.sending import (
    REPLY_TTL,
    NewMessage,
    OutgoingMessage,
    plan_message,
    priority_of,
    time_to_live,
)
from wagate.domain.tenancy import PhoneNumber
from wagate.ids import new_wamid
from wagate.store import sealed
from wagate.store.consent import NewConsent, load_policies, record_consents
from wagate.store.messages import insert_outbound
from wagate.store.schema import messages
from wagate.store.sql import many

_template_decoder = msgspec.json.Decoder(dict[str, object])
_MARKETING_MESSAGES = select(messages.c.wamid, messages.c.content).where(
    messages.c.wamid.in_(many("wamids")), messages.c.category == "MARKETING"
)


@dataclass(frozen=True, slots=True)
class KeywordCandidate:
    """An inbound message just stored that may be a keyword."""

    number: PhoneNumber
    wa_id: str
    wamid: str  # wagate's id of the customer's message
    at: float
    texts: KeywordMessage
    context_wamid: str | None


def apply_keywords(conn: Connection, candidates: list[KeywordCandidate], now: float) -> int:
    """Record the consents that keyword messages carry and queue their confirmations; returns how many."""
    if not candidates:
        return 0
    policies = load_policies(conn, list({c.number.org_id for c in candidates}))
    indexes = {org_id: KeywordIndex(settings) for org_id, settings in policies.items()}
    stop_languages = _stop_promotions(conn, candidates)
    new_consents, replies = [], []
    for c in candidates:
        match = _match(c, indexes[c.number.org_id], stop_languages)
        if match is None:
            continue
        new_consents.append(
            NewConsent(
                org_id=c.number.org_id,
                wa_id=c.wa_id,
                purpose=MARKETING,
                action=match.action,
                source=c.texts.source,
                proof=c.texts.proof,
                message_wamid=c.wamid,
                # Meta's timestamps are whole seconds; the time we received the keyword is at least
                # as late and precise, so a record made moments before it (a sign-up) sorts first.
                at=max(c.at, now),
            )
        )
        text = reply_for(policies[c.number.org_id], match)
        if text is not None:
            replies.append(_reply(c, text, now))
    record_consents(conn, new_consents, now)
    insert_outbound(conn, replies)
    return len(new_consents)


def _match(
    candidate: KeywordCandidate, index: KeywordIndex, stop_languages: dict[str, str]
) -> KeywordMatch | None:
    for text in candidate.texts.texts:
        match = index.match(text)
        if match is not None:
            return match
    if candidate.context_wamid in stop_languages and any(
        is_stop_promotions(t) for t in candidate.texts.texts
    ):
        return KeywordMatch(OPT_OUT, stop_languages[candidate.context_wamid])
    return None


def _stop_promotions(conn: Connection, candidates: list[KeywordCandidate]) -> dict[str, str]:
    """The marketing templates that "Stop promotions" buttons answer, with each template's language."""
    wanted = {
        c.context_wamid
        for c in candidates
        if c.context_wamid is not None
        and c.texts.source == "button"
        and any(is_stop_promotions(t) for t in c.texts.texts)
    }
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


def _reply(candidate: KeywordCandidate, text: str, now: float) -> NewMessage:
    """The confirmation, planned as every send is (`domain/sending.py`): a free-form reply, within the
    window the keyword just opened."""
    message = OutgoingMessage.text(candidate.wa_id, text)
    return plan_message(
        message,
        wamid=new_wamid(),
        org_id=candidate.number.org_id,
        number_id=candidate.number.id,
        wa_id=candidate.wa_id,
        template=None,
        priority=priority_of(None),
        ttl=time_to_live(REPLY_TTL, None),
        now=now,
    )
