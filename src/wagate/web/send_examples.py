"""Example bodies of `POST /{version}/{phone_number_id}/messages`, one per kind of send, for the API
reference (each is accepted by `cloudapi.send.parse_send_request`; tests/unit checks that)."""

from __future__ import annotations

from typing import Any

_TO = "79161234567"
_WAMID = "wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"


def _send(kind: str, content: Any, **extra: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": _TO, "type": kind, kind: content, **extra}


SEND_EXAMPLES: dict[str, Any] = {
    "text": _send(
        "text", {"body": "Your order has shipped: https://shop.example/t/A-1001", "preview_url": True}
    ),
    "reply": _send("text", {"body": "Yes, we are open today."}, context={"message_id": _WAMID}),
    "image_by_id": _send("image", {"id": "1234567890123456", "caption": "Your receipt"}),
    "image_by_link": _send("image", {"link": "https://shop.example/img/receipt.png"}),
    "document": _send(
        "document",
        {"link": "https://shop.example/invoice.pdf", "filename": "invoice.pdf", "caption": "Invoice"},
    ),
    "audio": _send("audio", {"id": "1234567890123457"}),
    "video": _send("video", {"link": "https://shop.example/how-to.mp4", "caption": "How to"}),
    "sticker": _send("sticker", {"id": "1234567890123458"}),
    "location": _send(
        "location",
        {"latitude": 55.7558, "longitude": 37.6173, "name": "Shop", "address": "Tverskaya 1, Moscow"},
    ),
    "contacts": _send(
        "contacts",
        [
            {
                "name": {"formatted_name": "Anna Petrova", "first_name": "Anna", "last_name": "Petrova"},
                "phones": [{"phone": "+7 916 111-22-33", "type": "CELL", "wa_id": "79161112233"}],
                "emails": [{"email": "anna@shop.example", "type": "WORK"}],
            }
        ],
    ),
    "interactive_buttons": _send(
        "interactive",
        {
            "type": "button",
            "body": {"text": "Shall we deliver tomorrow?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                    {"type": "reply", "reply": {"id": "later", "title": "Later"}},
                ]
            },
        },
    ),
    "interactive_list": _send(
        "interactive",
        {
            "type": "list",
            "body": {"text": "Pick a delivery slot"},
            "action": {
                "button": "Slots",
                "sections": [
                    {
                        "title": "Tomorrow",
                        "rows": [
                            {"id": "am", "title": "Morning", "description": "9:00 to 12:00"},
                            {"id": "pm", "title": "Afternoon", "description": "12:00 to 18:00"},
                        ],
                    }
                ],
            },
        },
    ),
    "template": _send(
        "template",
        {
            "name": "order_update",
            "language": {"code": "en_US"},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": "Anna"}, {"type": "text", "text": "A-1001"}],
                }
            ],
        },
    ),
    "reaction": _send("reaction", {"message_id": _WAMID, "emoji": "\N{THUMBS UP SIGN}"}),
    "mark_read": {"messaging_product": "whatsapp", "status": "read", "message_id": _WAMID},
    "typing_indicator": {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": _WAMID,
        "typing_indicator": {"type": "text"},
    },
}
