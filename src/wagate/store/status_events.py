"""`message.status` events for the business, in both formats (see docs/events.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from wagate.cloudapi.webhooks import error_object, status_object
from wagate.domain.tenancy import PhoneNumber
from wagate.store.events import NewEvent
from wagate.store.schema import contacts
from wagate.store.sql import many


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A status newly recorded for an outbound message, with what the business needs to hear of it."""

    org_id: int
    number: PhoneNumber
    wamid: str
    recipient: str
    status: str
    timestamp: float
    callback_data: str | None
    error: dict[str, Any] | None = None  # {"code", "title", "details"} and "href" when Meta gave one
    pricing: dict[str, Any] | None = None
    conversation: dict[str, Any] | None = None
    user_id: str | None = None  # the recipient's business-scoped user id, when the upstream said it


_USER_IDS = select(contacts.c.org_id, contacts.c.wa_id, contacts.c.user_id).where(
    contacts.c.org_id.in_(many("orgs")), contacts.c.wa_id.in_(many("wa_ids")), contacts.c.user_id.is_not(None)
)


def digits(display_phone_number: str) -> str:
    return "".join(ch for ch in display_phone_number if ch.isdigit())


def user_ids(conn: Connection, pairs: set[tuple[int, str]]) -> dict[tuple[int, str], str]:
    """Business-scoped user ids known for (organization, wa_id) pairs."""
    if not pairs:
        return {}
    rows = conn.execute(
        _USER_IDS, {"orgs": list({o for o, _ in pairs}), "wa_ids": list({w for _, w in pairs})}
    )
    return {(row.org_id, row.wa_id): row.user_id for row in rows}


def status_events(conn: Connection, changes: list[StatusChange], now: float) -> list[NewEvent]:
    known_users = user_ids(conn, {(c.org_id, c.recipient) for c in changes})
    out = []
    for change in changes:
        user_id = known_users.get((change.org_id, change.recipient)) or change.user_id
        error = change.error
        errors = None
        if error is not None:
            # the wagate payload's error has code, title and details; Meta's object has its href too
            details = error.get("details") or error["title"]
            errors = [error_object(error["code"], error["title"], details, error.get("href"))]
        status = status_object(
            change.wamid,
            change.status,
            change.timestamp,
            change.recipient,
            callback_data=change.callback_data,
            conversation=change.conversation,
            pricing=change.pricing,
            errors=errors,
            recipient_user_id=user_id or None,
        )
        contact: dict[str, Any] = {"wa_id": change.recipient}
        if user_id:
            contact["user_id"] = user_id
        meta_value = {
            "messaging_product": "whatsapp",
            "metadata": change.number.metadata,
            "contacts": [contact],
            "statuses": [status],
        }
        payload = {
            "message_id": change.wamid,
            "recipient": change.recipient,
            "status": change.status,
            "timestamp": change.timestamp,
            "biz_opaque_callback_data": change.callback_data,
            "error": _payload_error(change.error),
            "pricing": change.pricing,
        }
        out.append(
            NewEvent(
                change.org_id,
                "message.status",
                payload,
                now,
                change.number.id,
                change.number.waba_id,
                "messages",
                meta_value,
            )
        )
    return out


def _payload_error(error: dict[str, Any] | None) -> dict[str, Any] | None:
    """The error in wagate's own payload: code, title and details (docs/events.md), never the href."""
    if error is None:
        return None
    return {key: value for key, value in error.items() if key != "href"}
