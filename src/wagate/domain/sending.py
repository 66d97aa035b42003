"""A message to send, who sends it, and the plan of what accepting it writes. Pure, no I/O.

Every send goes through one use case (`services/sending.send_message`): the Cloud API route turns a
parsed request into an `OutgoingMessage`, and code that sends on its own (the opt-out's confirmation,
and later rules, dialogs and campaigns) builds one with `OutgoingMessage.text` or `.template`. What
the message becomes before it is written, its priority class, its time-to-live and its row, is decided
here, the same for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec

from wagate.cloudapi.send import MediaRef, SendRequest, TemplateSend

# The dispatcher takes the lowest class first: a customer waiting for an answer goes before a campaign.
PRIORITY_REPLY = 1  # free-form replies inside an open window, AUTHENTICATION templates
PRIORITY_UTILITY = 2
PRIORITY_MARKETING = 3  # and every campaign's message, whatever its category
_TEMPLATE_PRIORITY = {
    "AUTHENTICATION": PRIORITY_REPLY,
    "UTILITY": PRIORITY_UTILITY,
    "MARKETING": PRIORITY_MARKETING,
}
# wagate's own confirmations (an opt-out's, say) live as long as the window they answer in.
REPLY_TTL = 24 * 3600.0

_encoder = msgspec.json.Encoder()


class SenderKind(StrEnum):
    API_TOKEN = "api_token"
    RULE = "rule"
    DIALOG = "dialog"
    CAMPAIGN = "campaign"
    OPERATOR = "operator"
    SYSTEM = "system"


# Structs rather than dataclasses for what is built on every send (see cloudapi/send.py).
class Sender(msgspec.Struct, frozen=True):
    """Who asks for a send: an API token (its id), a rule, a dialog, a campaign, an operator (their
    ids), or wagate itself (what sends, by name)."""

    kind: SenderKind
    id: str

    @classmethod
    def api_token(cls, token_id: int) -> Sender:
        return cls(SenderKind.API_TOKEN, str(token_id))

    @classmethod
    def rule(cls, rule_id: int | str) -> Sender:
        return cls(SenderKind.RULE, str(rule_id))

    @classmethod
    def dialog(cls, dialog_id: int | str) -> Sender:
        return cls(SenderKind.DIALOG, str(dialog_id))

    @classmethod
    def campaign(cls, campaign_id: int | str) -> Sender:
        return cls(SenderKind.CAMPAIGN, str(campaign_id))

    @classmethod
    def operator(cls, operator_id: int | str) -> Sender:
        return cls(SenderKind.OPERATOR, str(operator_id))

    @classmethod
    def system(cls, name: str) -> Sender:
        return cls(SenderKind.SYSTEM, name)

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


# A msgspec Struct, like SendRequest: one is built per request on the accept path.
class OutgoingMessage(msgspec.Struct, frozen=True):
    """One message to a customer, as the Cloud API would carry it: `content` is the object named by
    `type` (`{"body": ...}` for text, the template's name, language and components), as the wire parser
    makes it of a request."""

    type: str
    content: dict[str, Any]
    to: str | None = None  # a phone number, as given
    recipient: str | None = None  # or a business-scoped user id
    template: TemplateSend | None = None
    media: tuple[MediaRef, ...] = ()
    context_message_id: str | None = None  # the message this one replies to
    reaction_message_id: str | None = None  # the message a reaction is for
    callback_data: str | None = None  # echoed in every status (Meta's biz_opaque_callback_data)

    @classmethod
    def text(
        cls, to: str, body: str, *, preview_url: bool = False, reply_to: str | None = None
    ) -> OutgoingMessage:
        content: dict[str, Any] = {"body": body}
        if preview_url:
            content["preview_url"] = True
        return cls("text", content, to=to, context_message_id=reply_to)

    @classmethod
    def template_message(
        cls, to: str, name: str, language: str, components: list[dict[str, Any]] | None = None
    ) -> OutgoingMessage:
        content: dict[str, Any] = {"name": name, "language": {"code": language}}
        if components:
            content["components"] = components
        send = TemplateSend(name=name, language=language, components=list(components or ()))
        return cls("template", content, to=to, template=send)

    @classmethod
    def from_request(cls, request: SendRequest) -> OutgoingMessage:
        """The message of a parsed Cloud API send request (`kind` "message")."""
        return cls(
            request.type or "text",
            request.content,
            request.to,
            request.recipient,
            request.template,
            request.media,
            request.context_message_id,
            request.reaction_message_id,
            request.biz_opaque_callback_data,
        )

    @property
    def recipient_input(self) -> str:
        """The recipient as the sender gave it, which Meta's answer echoes."""
        return self.to if self.to is not None else (self.recipient or "")

    @property
    def replied_to(self) -> str | None:
        """The message this one points at: the one reacted to, or the one replied to."""
        return self.reaction_message_id if self.reaction_message_id is not None else self.context_message_id


@dataclass(frozen=True, slots=True)
class SendOptions:
    """How to send beyond the message itself.

    `idempotency_key` with `fingerprint` (a digest of the request) makes a repeat answer as the first
    did; `priority` and `ttl` override what the message's class gives; `campaign_id` marks a campaign's
    message, which goes in the marketing class."""

    idempotency_key: str | None = None
    fingerprint: str = ""
    priority: int | None = None
    campaign_id: int | None = None
    ttl: float | None = None


class Accepted(msgspec.Struct, frozen=True):
    """A send accepted into the outbox (or the first acceptance of a repeated idempotency key)."""

    wamid: str
    wa_id: str
    recipient_input: str
    type: str
    replayed: bool = False


class TemplateFacts(msgspec.Struct, frozen=True):
    """What checking a template send found: the template's category and name, and its own
    time-to-live (or the one-time code's expiry)."""

    category: str
    name: str
    ttl_seconds: int | None


def priority_of(
    template: TemplateFacts | None, *, override: int | None = None, campaign_id: int | None = None
) -> int:
    """The message's priority class: an override first, a campaign's message in the marketing class,
    then by template category (free-form: a reply)."""
    if override is not None:
        return override
    if campaign_id is not None:
        return PRIORITY_MARKETING
    if template is None:
        return PRIORITY_REPLY
    return _TEMPLATE_PRIORITY.get(template.category, PRIORITY_UTILITY)


def time_to_live(class_ttl: float, template: TemplateFacts | None, *, override: float | None = None) -> float:
    """How long the message may wait to be sent: the override or its class's TTL, never beyond the
    template's own (a one-time code is worthless after it expires)."""
    ttl = class_ttl if override is None else override
    if template is not None and template.ttl_seconds is not None and template.ttl_seconds > 0:
        ttl = min(ttl, float(template.ttl_seconds))
    return ttl


class NewMessage(msgspec.Struct, frozen=True):
    """The row an accepted outbound message is written as, with its outbox entry (`insert_outbound`)."""

    wamid: str
    org_id: int
    phone_number_id: int
    wa_id: str
    recipient_input: str | None
    type: str
    content: str
    priority: int
    category: str | None
    template_name: str | None
    callback_data: str | None
    context_wamid: str | None
    created_at: float
    expires_at: float


def plan_message(
    message: OutgoingMessage,
    *,
    wamid: str,
    org_id: int,
    number_id: int,
    wa_id: str,
    template: TemplateFacts | None,
    priority: int,
    ttl: float,
    now: float,
) -> NewMessage:
    """What accepting `message` writes: its row, due now and expiring after `ttl`."""
    return NewMessage(
        wamid=wamid,
        org_id=org_id,
        phone_number_id=number_id,
        wa_id=wa_id,
        recipient_input=message.recipient_input[:64],
        type=message.type,
        content=_encoder.encode(message.content).decode(),
        priority=priority,
        category=None if template is None else template.category,
        template_name=None if template is None else template.name,
        callback_data=message.callback_data,
        context_wamid=message.replied_to,
        created_at=now,
        expires_at=now + ttl,
    )
