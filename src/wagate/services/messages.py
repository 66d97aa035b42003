"""Sending: validate a Cloud API send request, then accept it durably into the outbox."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import Connection, select

from wagate.cloudapi.send import SendRequest, parse_send_request
from wagate.domain.phone import to_wa_id
from wagate.domain.policy import PolicyInput
from wagate.domain.templates import StoredTemplate, check_template_send
from wagate.domain.tenancy import Organization, PhoneNumber
from wagate.errors import ApiError, GraphError, IdempotencyConflict, not_found
from wagate.ids import new_wamid
from wagate.media import service as media_service
from wagate.services.policy import policy_for
from wagate.services.runtime import Runtime
from wagate.store import message_search as search_sql
from wagate.store import messages as store
from wagate.store import tenancy as tenancy_sql
from wagate.store.schema import contacts
from wagate.upstreams.base import NumberRef, UpstreamError

_encoder = msgspec.json.Encoder()

PRIORITY_REPLY = 1  # free-form replies inside an open window, AUTHENTICATION templates
PRIORITY_UTILITY = 2
PRIORITY_MARKETING = 3
_TEMPLATE_PRIORITY = {
    "AUTHENTICATION": PRIORITY_REPLY,
    "UTILITY": PRIORITY_UTILITY,
    "MARKETING": PRIORITY_MARKETING,
}

SUCCESS = b'{"success":true}'


@dataclass(frozen=True, slots=True)
class Planned:
    """What a valid send request turns into before it is written."""

    wa_id: str
    priority: int
    category: str | None
    template_name: str | None
    ttl: float
    context_wamid: str | None
    policy: PolicyInput | None = None


async def do_send(
    rt: Runtime, org: Organization, number: PhoneNumber, body: bytes, idempotency_key: str | None
) -> tuple[int, bytes]:
    """Validate and accept one request of `POST /{version}/{phone_number_id}/messages`."""
    request = parse_send_request(body)
    if request.kind != "message":
        return await do_mark_read(rt, org, number, request)
    planned = await check_send(rt, org, number, request)
    now = rt.clock.now()
    wamid = new_wamid()
    contact: dict[str, Any] = {
        "input": request.to if request.to is not None else request.recipient,
        "wa_id": planned.wa_id,
    }
    message: dict[str, Any] = {"id": wamid}
    if request.type == "template":
        message["message_status"] = "accepted"
    response = _encoder.encode(
        {"messaging_product": "whatsapp", "contacts": [contact], "messages": [message]}
    )
    idempotency = None
    if idempotency_key is not None:
        idempotency = store.IdempotentResponse(
            idempotency_key, hashlib.sha256(body).hexdigest(), 200, response
        )
    new = store.NewMessage(
        wamid=wamid,
        org_id=org.id,
        phone_number_id=number.id,
        wa_id=planned.wa_id,
        recipient_input=(request.to or request.recipient or "")[:64],
        type=request.type or "text",
        content=_encoder.encode(request.content).decode(),
        priority=planned.priority,
        category=planned.category,
        template_name=planned.template_name,
        callback_data=request.biz_opaque_callback_data,
        context_wamid=planned.context_wamid,
        created_at=now,
        expires_at=now + planned.ttl,
    )
    result = await rt.db.write(
        store.AcceptMessage(new, idempotency, rt.settings.idempotency_ttl, planned.policy)
    )
    if result.outcome == store.AcceptOutcome.REPLAYED:
        return result.status_code, result.response
    if result.outcome == store.AcceptOutcome.CONFLICT:
        raise IdempotencyConflict("Idempotency-Key was already used with a different request body")
    if result.outcome == store.AcceptOutcome.REFUSED:
        assert result.error is not None
        rt.metrics.policy_refusals.labels(str(result.error.code), "request").inc()
        raise result.error
    rt.metrics.accepted.inc()
    rt.waker.wake(number.id)
    return 200, response


async def check_send(rt: Runtime, org: Organization, number: PhoneNumber, request: SendRequest) -> Planned:
    """Everything about a send that can be decided now; raises Meta's error otherwise."""
    wa_id = await _recipient(rt, org, number, request)
    priority, category, template_name, ttl = PRIORITY_REPLY, None, None, rt.settings.ttl_class1
    if request.template is not None:
        template = await _template(rt, number.waba_id, request.template.name, request.template.language)
        if template is None:
            raise GraphError(
                132001,
                f"template name ({request.template.name}) does not exist in {request.template.language}",
            )
        rendered = check_template_send(template, request.template)
        category = rendered.category
        template_name = template.name
        priority = _TEMPLATE_PRIORITY.get(category, PRIORITY_UTILITY)
        ttl = rt.settings.ttl_for_class(priority)
        if rendered.ttl_seconds is not None and rendered.ttl_seconds > 0:
            ttl = min(ttl, float(rendered.ttl_seconds))
    if request.media:
        await media_service.check_send_media(rt, org, request.media)
    context_wamid = request.context_message_id
    if request.reaction_message_id is not None:
        context_wamid = request.reaction_message_id
    if context_wamid is not None:
        known = await rt.db.read(lambda conn: store.message_exists(conn, org.id, context_wamid))
        if known is None:
            field = "reaction.message_id" if request.reaction_message_id else "context.message_id"
            raise GraphError(131009, f"{field}: no message {context_wamid} in this account")
    policy = await policy_for(rt, org, category if request.template is not None else None)
    return Planned(wa_id, priority, category, template_name, ttl, context_wamid, policy)


async def _template(rt: Runtime, waba_id: int, name: str, language: str) -> StoredTemplate | None:
    key = (waba_id, name, language)
    template = rt.templates.get(key)
    if template is None:
        template = await rt.db.read(lambda conn: tenancy_sql.template_by_name(conn, waba_id, name, language))
        rt.templates.put(key, template)
    return template


async def _recipient(rt: Runtime, org: Organization, number: PhoneNumber, request: SendRequest) -> str:
    if request.to is not None:
        wa_id = to_wa_id(request.to, number.region)
    elif request.recipient is not None:
        recipient = request.recipient
        wa_id_found = await rt.db.read(lambda conn: _wa_id_of_user(conn, org.id, recipient))
        if wa_id_found is None:
            raise GraphError(131009, f"recipient: no customer with business-scoped user id {recipient}")
        wa_id = wa_id_found
    else:
        raise GraphError(131008, "The parameter to is required.")
    own = "".join(ch for ch in number.display_phone_number if ch.isdigit())
    if wa_id == own:
        raise GraphError(131021, "to: the recipient is the sending business number")
    return wa_id


def _wa_id_of_user(conn: Connection, org_id: int, user_id: str) -> str | None:
    row = conn.execute(
        select(contacts.c.wa_id).where(contacts.c.org_id == org_id, contacts.c.user_id == user_id)
    ).first()
    return None if row is None else str(row[0])


async def do_mark_read(
    rt: Runtime, org: Organization, number: PhoneNumber, request: SendRequest
) -> tuple[int, bytes]:
    """A read receipt (and typing indicator) for a message the customer sent to this number, forwarded
    to the upstream; that message and every earlier one in the thread become read."""
    message_id = request.read_message_id or ""
    found = await rt.db.read(lambda conn: store.inbound_message(conn, org.id, number.id, message_id))
    if found is None:
        raise GraphError(
            100,
            f"message_id: no message {message_id} received by this number",
            message="(#100) Invalid parameter",
        )
    upstream = rt.upstreams.get(number.upstream)
    if upstream is None:
        raise GraphError(131000, f"the upstream {number.upstream!r} of this number is not running")
    ref = NumberRef(number.id, number.display_phone_number, number.waba_id, number.rate)
    try:
        await upstream.mark_read(ref, found.upstream_id, request.kind == "typing")
    except UpstreamError as exc:
        raise GraphError(exc.code, exc.details or exc.title) from exc
    await rt.db.write(store.MarkRead(number.id, found.wa_id, found.created_at, rt.clock.now()))
    return 200, SUCCESS


async def access_message(rt: Runtime, org: Organization, wamid: str) -> dict[str, Any]:
    found = await rt.db.read(lambda conn: store.load_message(conn, org.id, wamid))
    if found is None:
        raise not_found(f"message {wamid}")
    return found


async def search_messages(
    rt: Runtime,
    org: Organization,
    text: str | None,
    phone_number_id: str | None,
    wa_id: str | None,
    before: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The organization's messages holding every word of `text` (whole words or their starts), newest
    first; over the blind index, since message text is sealed (docs/security.md)."""
    if text is None or not text.strip():
        raise ApiError("invalid_request", "q (the words to look for) is required", field="q")
    try:
        number = None if phone_number_id is None else int(phone_number_id)
        until = None if before is None else float(before)
    except ValueError:
        raise ApiError("invalid_request", "phone_number_id and before must be numbers") from None
    query = search_sql.MessageQuery(org.id, text, number, wa_id, until, limit)
    return await rt.db.read(lambda conn: search_sql.search_messages(conn, query))
