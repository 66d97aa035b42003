"""Meta's webhook envelope: building it (the simulator) and parsing it (the ingest path)."""

from __future__ import annotations

from typing import Any

import msgspec

OBJECT = "whatsapp_business_account"
MAX_CHANGES_PER_POST = 1000


class Metadata(msgspec.Struct, omit_defaults=True):
    display_phone_number: str = ""
    phone_number_id: str = ""


class StatusError(msgspec.Struct, omit_defaults=True):
    code: int
    title: str = ""
    message: str = ""
    error_data: dict[str, Any] | None = None
    href: str | None = None


class StatusEvent(msgspec.Struct, omit_defaults=True):
    id: str
    status: str
    timestamp: str = "0"
    recipient_id: str | None = None
    biz_opaque_callback_data: str | None = None
    errors: list[StatusError] | None = None
    conversation: dict[str, Any] | None = None
    pricing: dict[str, Any] | None = None
    recipient_user_id: str | None = None


class ChangeValue(msgspec.Struct, omit_defaults=True):
    messaging_product: str | None = None
    metadata: Metadata | None = None
    contacts: list[dict[str, Any]] | None = None
    messages: list[dict[str, Any]] | None = None
    statuses: list[StatusEvent] | None = None
    errors: list[dict[str, Any]] | None = None


class Change(msgspec.Struct, omit_defaults=True):
    field: str
    value: msgspec.Raw


class Entry(msgspec.Struct, omit_defaults=True):
    id: str
    changes: list[Change]
    time: int | None = None


class Envelope(msgspec.Struct, omit_defaults=True):
    object: str
    entry: list[Entry]


envelope_decoder = msgspec.json.Decoder(Envelope)
value_decoder = msgspec.json.Decoder(ChangeValue)
_encoder = msgspec.json.Encoder()


def messages_envelope(
    waba_id: int, number_id: int, display_phone_number: str, value: dict[str, Any]
) -> bytes:
    """One `messages` change for one business number; `value` holds contacts, messages or statuses."""
    body = {
        "object": OBJECT,
        "entry": [
            {
                "id": str(waba_id),
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                # Meta gives the business number as digits only.
                                "display_phone_number": "".join(
                                    c for c in display_phone_number if c.isdigit()
                                ),
                                "phone_number_id": str(number_id),
                            },
                            **value,
                        },
                    }
                ],
            }
        ],
    }
    return _encoder.encode(body)


def account_envelope(waba_id: int, field: str, value: dict[str, Any], time: float) -> bytes:
    """One account-level change (`user_preferences`, template status, ...) for one business account."""
    body = {
        "object": OBJECT,
        "entry": [{"id": str(waba_id), "time": int(time), "changes": [{"field": field, "value": value}]}],
    }
    return _encoder.encode(body)


def status_object(
    upstream_id: str,
    status: str,
    timestamp: float,
    recipient_id: str,
    *,
    callback_data: str | None = None,
    conversation: dict[str, Any] | None = None,
    pricing: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
    recipient_user_id: str | None = None,
) -> dict[str, Any]:
    """One entry of a `messages` change's `statuses`, as Meta sends it; the one builder of that object."""
    event: dict[str, Any] = {
        "id": upstream_id,
        "status": status,
        "timestamp": str(int(timestamp)),
        "recipient_id": recipient_id,
    }
    if recipient_user_id is not None:
        event["recipient_user_id"] = recipient_user_id
    if callback_data is not None:
        event["biz_opaque_callback_data"] = callback_data
    if conversation is not None:
        event["conversation"] = conversation
    if pricing is not None:
        event["pricing"] = pricing
    if errors:
        event["errors"] = errors
    return event


def status_event(
    upstream_id: str,
    status: str,
    timestamp: float,
    recipient_id: str,
    *,
    callback_data: str | None = None,
    category: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    recipient_user_id: str | None = None,
) -> dict[str, Any]:
    """A status as an upstream reports it, priced from the message's category once sent or delivered."""
    pricing = None
    if category is not None and status in ("sent", "delivered"):
        billable = category != "service"
        pricing = {
            "billable": billable,
            "pricing_model": "PMP",
            "type": "regular" if billable else "free_customer_service",
            "category": category,
        }
    return status_object(
        upstream_id,
        status,
        timestamp,
        recipient_id,
        callback_data=callback_data,
        pricing=pricing,
        errors=errors,
        recipient_user_id=recipient_user_id,
    )


ERROR_CODES_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"


def error_object(
    code: int, title: str, details: str | None, href: str | None = ERROR_CODES_HREF
) -> dict[str, Any]:
    """One entry of a status's `errors`; `details` falls back to the title, `href` is left out when None."""
    error: dict[str, Any] = {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details if details is not None else title},
    }
    if href is not None:
        error["href"] = href
    return error
