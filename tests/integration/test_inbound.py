"""Meta's webhooks in: the handshake, signatures, every inbound type and status, once each."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from tests.conftest import Wagate
from tests.helpers import eventually
from tests.helpers import opened as stored_value
from wagate.cloudapi.signatures import hub_signature
from wagate.cloudapi.webhooks import messages_envelope
from wagate.store.ingest import ApplyParked
from wagate.store.messages import OutcomeKind, SendOutcome
from wagate.store.schema import contact_preferences, events, inbound_events, messages, templates
from wagate.store.tenancy import number_by_id

CUSTOMER = "79161112233"


def envelope(w: Wagate, value: dict[str, Any]) -> bytes:
    number = w.rt.db.read_now(lambda c: number_by_id(c, int(w.phone_number_id)))
    assert number is not None
    return messages_envelope(number.waba_id, number.id, number.display_phone_number, value)


def inbound(message_id: str, kind: str, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "contacts": [{"profile": {"name": "Anna"}, "wa_id": CUSTOMER, "user_id": "RU.1234567"}],
        "messages": [
            {"from": CUSTOMER, "id": message_id, "timestamp": "1795690000", "type": kind, **body, **extra}
        ],
    }


async def post(w: Wagate, body: bytes, *, secret: str | None = None) -> int:
    signature = hub_signature(secret if secret is not None else w.rt.meta_app.app_secret, body)
    response = await w.client.post(
        "/webhooks/meta",
        content=body,
        headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"},
    )
    return response.status_code


def count(w: Wagate, table: Any, *where: Any) -> int:
    return int(
        w.rt.db.read_now(
            lambda c: c.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
        )
    )


def event_types(w: Wagate) -> list[str]:
    return [
        r[0] for r in w.rt.db.read_now(lambda c: c.execute(select(events.c.type).order_by(events.c.id)).all())
    ]


async def test_verification_handshake(wagate: Wagate) -> None:
    token = wagate.rt.meta_app.verify_token
    ok = await wagate.client.get(
        "/webhooks/meta",
        params={"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"},
    )
    assert ok.status_code == 200 and ok.text == "1158201444"
    wrong = await wagate.client.get(
        "/webhooks/meta", params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"}
    )
    assert wrong.status_code == 403


async def test_bad_or_missing_signature_stores_nothing(wagate: Wagate) -> None:
    body = envelope(wagate, inbound("wamid.in-1", "text", {"text": {"body": "hi"}}))
    before = count(wagate, inbound_events)
    assert await post(wagate, body, secret="not-the-secret") == 401
    missing = await wagate.client.post("/webhooks/meta", content=body)
    assert missing.status_code == 401
    assert count(wagate, inbound_events) == before
    assert count(wagate, messages, messages.c.direction == "in") == 0


async def test_a_message_is_stored_once_with_its_contact_window_conversation_and_event(
    wagate: Wagate,
) -> None:
    body = envelope(wagate, inbound("wamid.in-2", "text", {"text": {"body": "Is my order ready?"}}))
    for _ in range(3):  # Meta retries: the effects happen once
        assert await post(wagate, body) == 200
    assert count(wagate, messages, messages.c.direction == "in") == 1
    assert event_types(wagate) == ["message.received"]
    queue = (await wagate.client.get("/api/v1/conversations", params={"state": "pending"})).json()["data"]
    assert [(c["wa_id"], c["state"]) for c in queue] == [(CUSTOMER, "pending")]
    conversation = queue[0]["id"]
    thread = (await wagate.client.get(f"/api/v1/conversations/{conversation}/messages")).json()["data"]
    assert [(m["direction"], m["content"]["text"]["body"]) for m in thread] == [
        ("inbound", "Is my order ready?")
    ]
    stored = wagate.rt.db.read_now(lambda c: c.execute(select(events.c.meta_value)).scalar_one())
    payload = json.loads(stored_value(wagate.rt.db, events.c.meta_value, stored))
    assert payload["contacts"][0]["user_id"] == "RU.1234567"
    assert payload["messages"][0]["id"] == thread[0]["id"]  # wagate's id, not Meta's

    # The envelopes above played Meta's part by hand; the simulated network, which serves this number,
    # hears from the customer too, so that it lets the reply through as Meta would.
    await wagate.customer_writes(CUSTOMER, text="Hello?")
    reply = await wagate.send(
        {
            "messaging_product": "whatsapp",
            "to": "+" + CUSTOMER,
            "type": "text",
            "text": {"body": "Yes, come by"},
            "context": {"message_id": thread[0]["id"]},
        }
    )
    assert reply.status_code == 200
    opened = (await wagate.client.get(f"/api/v1/conversations/{conversation}")).json()
    assert opened["state"] == "open" and opened["waiting_since"] is None
    resolved = await wagate.client.patch(f"/api/v1/conversations/{conversation}", json={"state": "resolved"})
    assert resolved.json()["state"] == "resolved"
    again = envelope(wagate, inbound("wamid.in-3", "text", {"text": {"body": "One more thing"}}))
    assert await post(wagate, again) == 200
    back = (await wagate.client.get(f"/api/v1/conversations/{conversation}")).json()
    assert back["state"] == "pending" and back["waiting_since"] is not None


EVERY_TYPE: list[tuple[str, dict[str, Any]]] = [
    ("text", {"text": {"body": "hello"}}),
    ("image", {"image": {"caption": "my receipt", "mime_type": "image/jpeg", "sha256": "abc", "id": "9001"}}),
    ("video", {"video": {"mime_type": "video/mp4", "sha256": "abc", "id": "9002"}}),
    ("audio", {"audio": {"mime_type": "audio/ogg", "sha256": "abc", "id": "9003", "voice": True}}),
    (
        "document",
        {"document": {"filename": "a.pdf", "mime_type": "application/pdf", "sha256": "a", "id": "9004"}},
    ),
    ("sticker", {"sticker": {"mime_type": "image/webp", "sha256": "abc", "id": "9005", "animated": False}}),
    ("location", {"location": {"latitude": 55.75, "longitude": 37.62, "name": "Office"}}),
    (
        "contacts",
        {
            "contacts": [
                {
                    "name": {"formatted_name": "Ivan Petrov", "first_name": "Ivan"},
                    "phones": [{"phone": "+7 916 000 00 01", "type": "CELL"}],
                }
            ]
        },
    ),
    ("interactive", {"interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}}}),
    ("interactive", {"interactive": {"type": "list_reply", "list_reply": {"id": "r1", "title": "Express"}}}),
    (
        "interactive",
        {
            "interactive": {
                "type": "nfm_reply",
                "nfm_reply": {"name": "flow", "body": "Sent", "response_json": '{"flow_token": "t1"}'},
            }
        },
    ),
    ("button", {"button": {"payload": "STOP_PROMOTIONS", "text": "Stop promotions"}}),
    ("reaction", {"reaction": {"message_id": "wamid.unknown-target", "emoji": "👍"}}),
    (
        "order",
        {
            "order": {
                "catalog_id": "1",
                "text": "for tomorrow",
                "product_items": [
                    {"product_retailer_id": "sku1", "quantity": 2, "item_price": 10.5, "currency": "EUR"}
                ],
            }
        },
    ),
    (
        "text",
        {
            "text": {"body": "from an ad"},
            "referral": {
                "source_url": "https://fb.me/x",
                "source_id": "1",
                "source_type": "ad",
                "ctwa_clid": "c1",
            },
        },
    ),
    (
        "system",
        {
            "system": {
                "body": "User A changed from X to Y",
                "wa_id": "79160000001",
                "type": "user_changed_number",
            }
        },
    ),
    (
        "unsupported",
        {"errors": [{"code": 131051, "title": "Message type unknown"}], "unsupported": {"type": "poll"}},
    ),
    ("hologram", {"hologram": {"depth": 3}}),
]


async def test_every_inbound_type_is_kept_and_told(wagate: Wagate) -> None:
    for i, (kind, body) in enumerate(EVERY_TYPE):
        assert await post(wagate, envelope(wagate, inbound(f"wamid.type-{i}", kind, body))) == 200, kind
    assert count(wagate, messages, messages.c.direction == "in") == len(EVERY_TYPE)
    assert event_types(wagate) == ["message.received"] * len(EVERY_TYPE)


async def test_statuses_with_pricing_errors_played_and_parking(wagate: Wagate) -> None:
    await wagate.customer_writes("79161234567")
    uploaded = await wagate.client.post(
        f"/v23.0/{wagate.phone_number_id}/media",
        data={"messaging_product": "whatsapp", "type": "audio/ogg"},
        files={"file": ("voice.ogg", b"OggS" + bytes(64), "audio/ogg")},
    )
    assert uploaded.status_code == 200, uploaded.text
    response = await wagate.send(
        {
            "messaging_product": "whatsapp",
            "to": "+79161234567",
            "type": "audio",
            "audio": {"id": uploaded.json()["id"], "voice": True},
            "biz_opaque_callback_data": "voice-1",
        }
    )
    wamid = response.json()["messages"][0]["id"]

    async def delivered() -> bool:
        return (await wagate.message(wamid))["status"] in ("delivered", "read")

    await eventually(delivered)
    upstream_id = wagate.rt.db.read_now(
        lambda c: c.execute(select(messages.c.upstream_id).where(messages.c.wamid == wamid)).scalar_one()
    )
    played = {
        "statuses": [
            {"id": upstream_id, "status": "played", "timestamp": "1795690001", "recipient_id": "79161234567"}
        ]
    }
    assert await post(wagate, envelope(wagate, played)) == 200

    async def is_played() -> bool:
        return (await wagate.message(wamid))["status"] == "played"

    await eventually(is_played)
    status_payloads = [
        json.loads(stored_value(wagate.rt.db, events.c.payload, r[0]))
        for r in wagate.rt.db.read_now(
            lambda c: c.execute(select(events.c.payload).where(events.c.type == "message.status")).all()
        )
    ]
    mine = [p for p in status_payloads if p["message_id"] == wamid]
    assert {p["status"] for p in mine} >= {"sent", "delivered", "played"}
    assert all(p["biz_opaque_callback_data"] == "voice-1" for p in mine)  # the business's own value restored


async def test_a_status_before_its_message_is_known_is_parked_then_applied(wagate: Wagate) -> None:
    assert wagate.rt.simulator is not None
    await wagate.customer_writes("79161234568")
    wagate.rt.simulator.rules.faults.update({"lost": 1.0})  # the send's answer never comes back
    wamid = (
        await wagate.send(
            {"messaging_product": "whatsapp", "to": "+79161234568", "type": "text", "text": {"body": "x"}}
        )
    ).json()["messages"][0]["id"]

    async def in_doubt() -> bool:
        return (await wagate.message(wamid)).get("delivery", {}).get("attempts") == 1  # type: ignore[union-attr]

    await eventually(in_doubt)
    early = {
        "statuses": [
            {
                "id": "wamid.late-answer",
                "status": "failed",
                "timestamp": "1795690002",
                "recipient_id": "79161234568",
                "errors": [
                    {
                        "code": 131026,
                        "title": "Message undeliverable",
                        "error_data": {"details": "not a user"},
                    }
                ],
            }
        ]
    }
    assert await post(wagate, envelope(wagate, early)) == 200
    assert (await wagate.message(wamid))["status"] == "accepted"  # parked: nothing to apply it to yet
    message_id = wagate.rt.db.read_now(
        lambda c: c.execute(select(messages.c.id).where(messages.c.wamid == wamid)).scalar_one()
    )
    await wagate.rt.db.write(
        SendOutcome(OutcomeKind.SENT, message_id, wagate.rt.clock.now(), upstream_id="wamid.late-answer")
    )
    assert await wagate.rt.db.write(ApplyParked(wagate.rt.clock.now())) == 1
    message = await wagate.message(wamid)
    assert message["status"] == "failed" and message["error"]["code"] == 131026  # type: ignore[index]


async def test_template_status_preferences_and_other_fields(wagate: Wagate) -> None:
    template_id = wagate.rt.db.read_now(
        lambda c: c.execute(select(templates.c.id).where(templates.c.name == "hello_world")).scalar_one()
    )
    waba = int(wagate.waba_id)

    def change(field: str, value: dict[str, Any]) -> bytes:
        return json.dumps(
            {
                "object": "whatsapp_business_account",
                "entry": [
                    {"id": str(waba), "time": 1795690000, "changes": [{"field": field, "value": value}]}
                ],
            }
        ).encode()

    paused = {
        "event": "PAUSED",
        "message_template_id": template_id,
        "message_template_name": "hello_world",
        "message_template_language": "en_US",
        "reason": "NONE",
    }
    assert await post(wagate, change("message_template_status_update", paused)) == 200
    status = wagate.rt.db.read_now(
        lambda c: c.execute(select(templates.c.status).where(templates.c.id == template_id)).scalar_one()
    )
    assert status == "PAUSED"
    stop = {
        "messaging_product": "whatsapp",
        "user_preferences": [
            {
                "wa_id": CUSTOMER,
                "detail": "User requested to stop marketing messages",
                "category": "marketing_messages",
                "value": "stop",
                "timestamp": 1795690000,
            }
        ],
    }
    assert await post(wagate, change("user_preferences", stop)) == 200
    assert count(wagate, contact_preferences, contact_preferences.c.value == "stop") == 1
    assert await post(wagate, change("phone_number_quality_update", {"event": "ONBOARDING"})) == 200
    assert await post(wagate, change("a_field_from_the_future", {"anything": 1})) == 200
    assert event_types(wagate) == [
        "template.status",
        "contact.preferences",
        "contact.consent",
        "account.update",
        "account.update",
    ]
    unknown_account = change("account_update", {"event": "PARTNER_ADDED"}).replace(str(waba).encode(), b"1")
    assert await post(wagate, unknown_account) == 200  # kept, warned, nothing applied
    assert len(event_types(wagate)) == 5
