"""Sending: the one way a message is queued, whoever sends it, and read receipts.

`send_message` takes a typed message (parsed from a Cloud API request, or built in code by a rule, a
dialog, a campaign), checks everything that can be decided before the writer, plans the row
(`domain/sending.py`) and hands it to the accepting transaction, which applies the policy with what
only the database knows (`store/send_policy.py`). It answers the accepted message or raises Meta's
error; the Cloud API route formats the answer.
"""

from __future__ import annotations

import logging

import msgspec
from sqlalchemy import Connection, select

from wagate.domain.phone import to_wa_id
from wagate.domain.policy import PolicyInput
from wagate.domain.sending import (
    Accepted,
    OutgoingMessage,
    Sender,
    SendOptions,
    TemplateFacts,
    plan_message,
    priority_of,
    time_to_live,
)
from wagate.domain.templates import StoredTemplate, check_template_send
from wagate.domain.tenancy import Organization, PhoneNumber
from wagate.errors import GraphError, IdempotencyConflict
from wagate.ids import new_wamid
from wagate.media import service as media_service
from wagate.services.policy import policy_for
from wagate.services.runtime import Runtime
from wagate.services.upstreams import upstream_for
from wagate.store import messages as store
from wagate.store import templates as templates_sql
from wagate.store.schema import contacts
from wagate.upstreams.base import UpstreamError

log = logging.getLogger(__name__)


class _Receipt(msgspec.Struct, array_like=True, frozen=True):
    """What a repeat of an idempotency key answers with, stored with the key: the acceptance itself,
    not its rendering, so that every caller formats it as it answers."""

    wamid: str
    wa_id: str
    recipient_input: str
    type: str


class _CloudAnswer(msgspec.Struct):
    """The Cloud API answer keys stored before the receipt was (read back for their replays)."""

    contacts: list[dict[str, str]]
    messages: list[dict[str, str]]


_receipt_encoder = msgspec.json.Encoder()
_receipt_decoder = msgspec.json.Decoder(_Receipt)
_cloud_answer_decoder = msgspec.json.Decoder(_CloudAnswer)


async def send_message(
    rt: Runtime,
    org: Organization,
    number: PhoneNumber,
    message: OutgoingMessage,
    sender: Sender,
    options: SendOptions | None = None,
) -> Accepted:
    """Queue `message` from `number` to its recipient, or raise Meta's error (`GraphError`) when it may
    not be sent; `IdempotencyConflict` when the key came before with another request."""
    options = options or _NO_OPTIONS
    wa_id, template, policy = await _check_send(rt, org, number, message)
    now = rt.clock.now()
    wamid = new_wamid()
    priority = priority_of(template, override=options.priority, campaign_id=options.campaign_id)
    ttl = time_to_live(rt.settings.ttl_for_class(priority), template, override=options.ttl)
    new = plan_message(
        message,
        wamid=wamid,
        org_id=org.id,
        number_id=number.id,
        wa_id=wa_id,
        template=template,
        priority=priority,
        ttl=ttl,
        now=now,
    )
    accepted = Accepted(wamid, wa_id, message.recipient_input, new.type)
    idempotency = None
    if options.idempotency_key is not None:
        receipt = _Receipt(wamid, wa_id, accepted.recipient_input, accepted.type)
        idempotency = store.IdempotencyRecord(
            options.idempotency_key, options.fingerprint, _receipt_encoder.encode(receipt)
        )
    result = await rt.db.write(store.AcceptMessage(new, idempotency, rt.settings.idempotency_ttl, policy))
    if result.outcome == store.AcceptOutcome.REPLAYED:
        return _replayed(result.answer)
    if result.outcome == store.AcceptOutcome.CONFLICT:
        raise IdempotencyConflict("Idempotency-Key was already used with a different request body")
    if result.outcome == store.AcceptOutcome.REFUSED:
        assert result.error is not None
        rt.metrics.policy_refusals.labels(str(result.error.code), "request").inc()
        log.debug("send from %s to %s refused: %s", sender, wa_id, result.error.code)
        raise result.error
    rt.metrics.accepted.inc()
    rt.waker.wake(number.id)
    return accepted


_NO_OPTIONS = SendOptions()


def _replayed(answer: bytes) -> Accepted:
    if answer[:1] == b"[":
        receipt = _receipt_decoder.decode(answer)
        return Accepted(receipt.wamid, receipt.wa_id, receipt.recipient_input, receipt.type, replayed=True)
    # Stored by an earlier version as the Cloud API answer itself: the same parts, read back.
    cloud = _cloud_answer_decoder.decode(answer)
    contact, first = cloud.contacts[0], cloud.messages[0]
    kind = "template" if "message_status" in first else "text"
    return Accepted(first["id"], contact["wa_id"], contact["input"], kind, replayed=True)


async def _check_send(
    rt: Runtime, org: Organization, number: PhoneNumber, message: OutgoingMessage
) -> tuple[str, TemplateFacts | None, PolicyInput]:
    """Everything about a send that can be decided before the writer: the recipient's wa_id, the
    template's facts, the organization's policy for it, and that the message it points at exists.
    Raises Meta's error."""
    wa_id = await _recipient(rt, org, number, message)
    template: TemplateFacts | None = None
    if message.template is not None:
        send = message.template
        stored = await _template(rt, number.waba_id, send.name, send.language)
        if stored is None:
            raise GraphError(132001, f"template name ({send.name}) does not exist in {send.language}")
        rendered = check_template_send(stored, send)
        template = TemplateFacts(rendered.category, stored.name, rendered.ttl_seconds)
    if message.media:
        await media_service.check_send_media(rt, org, message.media)
    context_wamid = message.replied_to
    if context_wamid is not None:
        known = await rt.db.read(lambda conn: store.message_exists(conn, org.id, context_wamid))
        if known is None:
            field = "reaction.message_id" if message.reaction_message_id else "context.message_id"
            raise GraphError(131009, f"{field}: no message {context_wamid} in this account")
    policy = await policy_for(rt, org, None if template is None else template.category)
    return wa_id, template, policy


async def _template(rt: Runtime, waba_id: int, name: str, language: str) -> StoredTemplate | None:
    key = (waba_id, name, language)
    template = rt.templates.get(key)
    if template is None:
        template = await rt.db.read(
            lambda conn: templates_sql.template_by_name(conn, waba_id, name, language)
        )
        rt.templates.put(key, template)
    return template


async def _recipient(rt: Runtime, org: Organization, number: PhoneNumber, message: OutgoingMessage) -> str:
    if message.to is not None:
        wa_id = to_wa_id(message.to, number.region)
    elif message.recipient is not None:
        recipient = message.recipient
        wa_id_found = await rt.db.read(lambda conn: _wa_id_of_user(conn, org.id, recipient))
        if wa_id_found is None:
            raise GraphError(131009, f"recipient: no customer with business-scoped user id {recipient}")
        wa_id = wa_id_found
    else:
        raise GraphError(131008, "The parameter to is required.")
    if wa_id == number.digits:
        raise GraphError(131021, "to: the recipient is the sending business number")
    return wa_id


def _wa_id_of_user(conn: Connection, org_id: int, user_id: str) -> str | None:
    row = conn.execute(
        select(contacts.c.wa_id).where(contacts.c.org_id == org_id, contacts.c.user_id == user_id)
    ).first()
    return None if row is None else str(row[0])


async def do_mark_read(
    rt: Runtime, org: Organization, number: PhoneNumber, message_id: str, *, typing: bool = False
) -> None:
    """A read receipt (with a typing indicator if `typing`) for a message the customer sent to this
    number, forwarded to the upstream; that message and every earlier one in the thread become read."""
    found = await rt.db.read(lambda conn: store.inbound_message(conn, org.id, number.id, message_id))
    if found is None:
        raise GraphError(
            100,
            f"message_id: no message {message_id} received by this number",
            message="(#100) Invalid parameter",
        )
    upstream = upstream_for(rt, number, code=131000)
    try:
        await upstream.mark_read(number.ref, found.upstream_id, typing)
    except UpstreamError as exc:
        raise GraphError(exc.code, exc.details or exc.title) from exc
    await rt.db.write(store.MarkRead(number.id, found.wa_id, found.created_at, rt.clock.now()))
