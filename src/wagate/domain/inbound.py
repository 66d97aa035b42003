"""What an inbound message does, decided without the database.

For each new message from a customer, `decide` says: the contact as the profile names it, whether it
opens (or extends) the 24-hour window and asks a person for an answer, which business message it
replies to, what the business sees (Meta's message with wagate's ids), whether it may be a consent
keyword, and the `message.received` event. The store's ingest job looks up what these need (the
business's ids of the messages replied to, the thread, the organization's keywords) and writes what
they decide, in the commit that stores the message (docs/decisions/0009-inbound-processing.md).
The thread's state follows `domain/conversations.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wagate.domain.consent import (
    OPT_OUT,
    KeywordIndex,
    KeywordMatch,
    KeywordMessage,
    is_stop_promotions,
    keyword_texts,
)
from wagate.domain.tenancy import PhoneNumber

# An inbound message that is not from a person opens no window and asks nobody for an answer.
NOT_CONVERSATIONAL = frozenset({"system", "unsupported", "unknown", "reaction"})
MEDIA_KINDS = frozenset({"image", "video", "audio", "document", "sticker"})


@dataclass(frozen=True, slots=True)
class Contact:
    wa_id: str
    profile_name: str | None
    user_id: str | None  # the business-scoped user id, when Meta gives one (contact or message)
    listed_user_id: str | None  # the one the webhook's contact lists (what the event repeats)


@dataclass(frozen=True, slots=True)
class InboundDecision:
    """What one new inbound message does."""

    contact: Contact
    kind: str
    at: float  # when the customer sent it (Meta's timestamp, else when it was received)
    conversational: bool  # opens the window and asks a person for an answer
    context_wamid: str | None  # wagate's id of the business message it replies to
    as_business_sees: dict[str, Any]  # Meta's message, its references in wagate's ids (id set by the store)
    keyword: KeywordMessage | None  # what of it may be a consent keyword

    @property
    def media(self) -> dict[str, Any] | None:
        """The media the customer sent (to be kept under a wagate media id), if any."""
        media = self.as_business_sees.get(self.kind)
        if self.kind in MEDIA_KINDS and isinstance(media, dict) and isinstance(media.get("id"), str):
            return media
        return None


def referenced_ids(message: dict[str, Any]) -> set[str]:
    """The upstream ids of business messages that `message` points at (a reply's context, a reaction)."""
    wanted = set()
    context, reaction = message.get("context"), message.get("reaction")
    if isinstance(context, dict) and isinstance(context.get("id"), str):
        wanted.add(context["id"])
    if isinstance(reaction, dict) and isinstance(reaction.get("message_id"), str):
        wanted.add(reaction["message_id"])
    return wanted


def is_complete(message: dict[str, Any]) -> bool:
    """Whether the message names its sender and its id (else it is kept in the raw event only)."""
    return isinstance(message.get("from"), str) and isinstance(message.get("id"), str)


def decide(
    message: dict[str, Any],
    profile: dict[str, Any] | None,
    now: float,
    business_ids: Mapping[str, str],
) -> InboundDecision:
    """Decide what `message` does; `business_ids` maps the upstream ids it points at to wagate's."""
    wa_id = str(message["from"])
    names = (profile or {}).get("profile") or {}
    listed = (profile or {}).get("user_id")
    kind = str(message.get("type", "unknown"))
    context = message.get("context")
    context_wamid = None
    if isinstance(context, dict) and isinstance(context.get("id"), str):
        context_wamid = business_ids.get(context["id"])
    return InboundDecision(
        contact=Contact(wa_id, names.get("name"), listed or message.get("from_user_id"), listed),
        kind=kind,
        at=message_time(message, now),
        conversational=kind not in NOT_CONVERSATIONAL,
        context_wamid=context_wamid,
        as_business_sees=translate_refs(message, business_ids),
        keyword=keyword_texts(kind, message),
    )


def message_time(message: dict[str, Any], now: float) -> float:
    try:
        return float(message.get("timestamp", now))
    except (TypeError, ValueError):
        return now


def translate_refs(message: dict[str, Any], business_ids: Mapping[str, str]) -> dict[str, Any]:
    """`message` with the ids it points at in wagate's terms (unknown ids are left as they are)."""
    out = dict(message)
    context = out.get("context")
    if isinstance(context, dict) and isinstance(context.get("id"), str):
        out["context"] = {**context, "id": business_ids.get(context["id"], context["id"])}
    reaction = out.get("reaction")
    if isinstance(reaction, dict) and isinstance(reaction.get("message_id"), str):
        out["reaction"] = {
            **reaction,
            "message_id": business_ids.get(reaction["message_id"], reaction["message_id"]),
        }
    return out


def keyword_match(
    keyword: KeywordMessage, index: KeywordIndex, stop_promotions_language: str | None
) -> KeywordMatch | None:
    """The consent a keyword message carries: one of the organization's keywords, or the "Stop
    promotions" button under a marketing template (`stop_promotions_language`: that template's
    language, None when the message does not answer one)."""
    for text in keyword.texts:
        match = index.match(text)
        if match is not None:
            return match
    if stop_promotions_language is not None and any(is_stop_promotions(t) for t in keyword.texts):
        return KeywordMatch(OPT_OUT, stop_promotions_language)
    return None


def may_stop_promotions(decision: InboundDecision) -> bool:
    """Whether the message may be the "Stop promotions" button of the template it answers."""
    keyword = decision.keyword
    return (
        keyword is not None
        and decision.context_wamid is not None
        and keyword.source == "button"
        and any(is_stop_promotions(t) for t in keyword.texts)
    )


def received_event(
    number: PhoneNumber, decision: InboundDecision, message: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The `message.received` event: wagate's payload, and the `value` of Meta's webhook for it.

    `message` is what the business sees, its id wagate's."""
    contact = decision.contact
    meta_contact: dict[str, Any] = {"profile": {"name": contact.profile_name or ""}, "wa_id": contact.wa_id}
    if contact.listed_user_id:
        meta_contact["user_id"] = contact.listed_user_id
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": number.metadata,
        "messages": [message],
    }
    if decision.kind != "system":
        value["contacts"] = [meta_contact]
    payload = {
        "message_id": message["id"],
        "from": contact.wa_id,
        "contact": {
            "wa_id": contact.wa_id,
            "profile_name": contact.profile_name,
            "user_id": contact.listed_user_id,
        },
        "type": decision.kind,
        "timestamp": decision.at,
        "context_message_id": decision.context_wamid,
        "message": message,
    }
    return payload, value
