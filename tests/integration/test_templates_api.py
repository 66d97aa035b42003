"""Managing templates through Meta's Business Management API surface, as a business would."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import Wagate
from tests.factories import make_organization, make_template
from tests.helpers import eventually, opened
from wagate.clock import SettableClock
from wagate.domain.access import Scope
from wagate.services import templates as template_service
from wagate.services import tenancy
from wagate.store.schema import events, messages

SEASONAL_PROMOTION: dict[str, Any] = {
    "name": "seasonal_promotion",
    "language": "en_US",
    "category": "MARKETING",
    "components": [
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Our {{1}} is on!",
            "example": {"header_text": ["Summer Sale"]},
        },
        {
            "type": "BODY",
            "text": "Shop now through {{1}} and use code {{2}} to get {{3}} off.",
            "example": {"body_text": [["the end of August", "25OFF", "25%"]]},
        },
        {"type": "FOOTER", "text": "Use the buttons below to manage your marketing subscriptions"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Unsubscribe from Promos"},
                {
                    "type": "URL",
                    "text": "Shop Now",
                    "url": "https://example.com/shop?promo={{1}}",
                    "example": ["summer2023"],
                },
                {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "15550051310"},
            ],
        },
    ],
}

AUTH_COPY_CODE: dict[str, Any] = {
    "name": "authentication_code_copy_code_button",
    "language": "en_US",
    "category": "AUTHENTICATION",
    "components": [
        {"type": "BODY", "add_security_recommendation": True},
        {"type": "FOOTER", "code_expiration_minutes": 10},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy Code"}]},
    ],
}

NAMED_ORDER: dict[str, Any] = {
    "name": "order_ready",
    "language": "en_US",
    "category": "UTILITY",
    "parameter_format": "named",
    "components": [
        {
            "type": "body",
            "text": "Hello {{first_name}}, your order {{order_id}} is ready for pickup today.",
            "example": {
                "body_text_named_params": [
                    {"param_name": "first_name", "example": "Pablo"},
                    {"param_name": "order_id", "example": "A-1001"},
                ]
            },
        }
    ],
}


@pytest.fixture
def clock() -> SettableClock:
    """A clock that stands still: the simulator's reviewer decides only when a test advances it."""
    return SettableClock()


def _path(wagate: Wagate) -> str:
    return f"/v23.0/{wagate.waba_id}/message_templates"


async def _create(wagate: Wagate, payload: dict[str, Any]) -> httpx.Response:
    return await wagate.client.post(_path(wagate), json=payload)


def _error(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def _with(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(payload))
    copy.update(changes)
    return copy


async def test_reference_examples_are_created_pending_and_read_back(wagate: Wagate) -> None:
    for payload in (SEASONAL_PROMOTION, AUTH_COPY_CODE, NAMED_ORDER):
        created = await _create(wagate, payload)
        assert created.status_code == 200, created.text
        answer = created.json()
        assert answer["status"] == "PENDING"
        assert answer["category"] == payload["category"]
        one = await wagate.client.get(f"/v23.0/{answer['id']}")
        assert one.status_code == 200, one.text
        body = one.json()
        assert body["name"] == payload["name"]
        assert body["language"] == "en_US"
        assert body["status"] == "PENDING"
        assert body["quality_score"]["score"] == "UNKNOWN"
        assert body["rejected_reason"] == "NONE"
        assert [c["type"] for c in body["components"]] == [c["type"].upper() for c in payload["components"]]
    named = await wagate.client.get(_path(wagate), params={"name": "order_ready"})
    assert named.json()["data"][0]["parameter_format"] == "NAMED"
    assert named.json()["data"][0]["components"][0]["type"] == "BODY"
    fields = await wagate.client.get(f"/v23.0/{answer['id']}", params={"fields": "name,status"})
    assert fields.json() == {"id": answer["id"], "name": "order_ready", "status": "PENDING"}


async def test_validation_errors_name_the_field_and_write_nothing(wagate: Wagate) -> None:
    body = SEASONAL_PROMOTION["components"][1]
    cases: list[tuple[dict[str, Any], int, str]] = [
        (_with(SEASONAL_PROMOTION, name="Seasonal Promotion"), 100, "name"),
        (_with(SEASONAL_PROMOTION, name="x" * 513), 2388040, "name"),
        (_with(SEASONAL_PROMOTION, category="PROMO"), 100, "category"),
        (_with(SEASONAL_PROMOTION, language="xx_XX"), 100, "language"),
        (
            _with(
                SEASONAL_PROMOTION, components=[{**body, "text": "{{1}} and {{2}} then {{3}} is all yours"}]
            ),
            2388299,
            "components[0].text",
        ),
        (
            _with(SEASONAL_PROMOTION, components=[{**body, "text": "Hi there {{1}} {{2}} and {{3}} ok"}]),
            2388072,
            "components[0].text",
        ),
        (
            _with(SEASONAL_PROMOTION, components=[{**body, "text": "Go {{1}} x {{2}} y {{3}} z"}]),
            2388293,
            "components[0].text",
        ),
        (_with(SEASONAL_PROMOTION, components=[{**body, "text": "a" * 1025}]), 2388040, "components[0].text"),
        (
            _with(
                SEASONAL_PROMOTION,
                components=[{"type": "BODY", "text": "Shop now through {{1}} please, friend."}],
            ),
            100,
            "components[0].example",
        ),
        (
            _with(SEASONAL_PROMOTION, components=[{"type": "HEADER", "format": "IMAGE"}, body]),
            2388047,
            "components[0].example.header_handle",
        ),
        (
            _with(SEASONAL_PROMOTION, components=[body, {"type": "FOOTER", "text": "Code {{1}}"}]),
            2388073,
            "components[1].text",
        ),
        (
            _with(SEASONAL_PROMOTION, components=[body, {"type": "FOOTER", "text": "f" * 61}]),
            2388040,
            "components[1].text",
        ),
        (
            _with(SEASONAL_PROMOTION, components=[{"type": "FOOTER", "text": "only a footer"}]),
            100,
            "components",
        ),
        (
            _with(
                SEASONAL_PROMOTION,
                components=[
                    body,
                    {
                        "type": "BUTTONS",
                        "buttons": [
                            {"type": "QUICK_REPLY", "text": "A"},
                            {"type": "URL", "text": "B", "url": "https://e.x"},
                            {"type": "QUICK_REPLY", "text": "C"},
                        ],
                    },
                ],
            ),
            100,
            "components[1].buttons",
        ),
        (
            _with(
                AUTH_COPY_CODE,
                components=[{"type": "BODY", "text": "Your code"}, AUTH_COPY_CODE["components"][2]],
            ),
            2388072,
            "components[0].text",
        ),
        (
            _with(
                AUTH_COPY_CODE,
                components=[
                    {"type": "BODY"},
                    {"type": "FOOTER", "code_expiration_minutes": 91},
                    AUTH_COPY_CODE["components"][2],
                ],
            ),
            100,
            "components[1].code_expiration_minutes",
        ),
        (
            _with(
                NAMED_ORDER,
                category="MARKETING",
                components=[body, {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]}],
            ),
            2388072,
            "components[0].text",
        ),
    ]
    for payload, code, field in cases:
        error = _error(await _create(wagate, payload))
        assert error["code"] == code, (payload, error)
        assert error["error_data"]["details"].startswith(field + ":"), (payload, error)
    listed = await wagate.client.get(_path(wagate))
    assert len(listed.json()["data"]) == 3


async def test_duplicate_name_and_language_is_refused(wagate: Wagate) -> None:
    assert (await _create(wagate, NAMED_ORDER)).status_code == 200
    error = _error(await _create(wagate, NAMED_ORDER))
    assert error["code"] == 100 and error["error_data"]["details"].startswith("name:")
    assert (await _create(wagate, _with(NAMED_ORDER, language="es"))).status_code == 200


async def test_list_filters_and_paging(wagate: Wagate) -> None:
    for i in range(5):
        assert (await _create(wagate, _with(NAMED_ORDER, name=f"order_ready_{i}"))).status_code == 200
    marketing = await wagate.client.get(_path(wagate), params={"category": "marketing"})
    assert marketing.json()["data"] == []
    pending = await wagate.client.get(_path(wagate), params={"status": "PENDING", "fields": "name"})
    assert sorted(t["name"] for t in pending.json()["data"]) == [f"order_ready_{i}" for i in range(5)]
    assert set(pending.json()["data"][0]) == {"id", "name"}
    russian = await wagate.client.get(_path(wagate), params={"language": "ru"})
    assert [t["name"] for t in russian.json()["data"]] == ["verification_code"]

    seen: list[str] = []
    page = (await wagate.client.get(_path(wagate), params={"limit": "3"})).json()
    while True:
        seen += [t["id"] for t in page["data"]]
        assert len(page["data"]) <= 3
        if "next" not in page["paging"]:
            break
        page = (await wagate.client.get(page["paging"]["next"])).json()
    assert len(seen) == len(set(seen)) == 8
    back = await wagate.client.get(
        _path(wagate), params={"limit": "3", "before": page["paging"]["cursors"]["before"]}
    )
    assert [t["id"] for t in back.json()["data"]] == seen[3:6]
    assert _error(await wagate.client.get(_path(wagate), params={"limit": "0"}))["code"] == 100


async def test_delete_by_name_and_by_id(wagate: Wagate) -> None:
    ids = []
    for language in ("en_US", "es", "fr"):
        ids.append((await _create(wagate, _with(NAMED_ORDER, language=language))).json()["id"])
    one = await wagate.client.delete(_path(wagate), params={"name": "order_ready", "hsm_id": ids[0]})
    assert one.json() == {"success": True}
    assert (await wagate.client.get(f"/v23.0/{ids[0]}")).status_code == 400
    assert (await wagate.client.get(f"/v23.0/{ids[1]}")).status_code == 200
    every = await wagate.client.delete(_path(wagate), params={"name": "order_ready"})
    assert every.json() == {"success": True}
    assert (await wagate.client.get(_path(wagate), params={"name": "order_ready"})).json()["data"] == []
    assert _error(await wagate.client.delete(_path(wagate), params={"name": "order_ready"}))["code"] == 100


async def test_edit_rules_and_status_events(wagate: Wagate, clock: SettableClock) -> None:
    template_id = (await _create(wagate, NAMED_ORDER)).json()["id"]
    pending = await wagate.client.post(f"/v23.0/{template_id}", json={"message_send_ttl_seconds": 600})
    assert _error(pending)["error_data"]["details"].startswith("status:")

    assert await template_service.do_set_template_status(wagate.rt, int(template_id), "APPROVED")
    recategorise = await wagate.client.post(f"/v23.0/{template_id}", json={"category": "MARKETING"})
    assert _error(recategorise)["error_data"]["details"].startswith("category:")
    ttl = await wagate.client.post(f"/v23.0/{template_id}", json={"message_send_ttl_seconds": 600})
    assert ttl.json() == {"success": True}
    assert (await wagate.client.get(f"/v23.0/{template_id}")).json()["status"] == "APPROVED"

    components = _with(NAMED_ORDER)["components"]
    components[0]["text"] = "Hi {{first_name}}, order {{order_id}} waits for you at the counter."
    too_soon = await wagate.client.post(f"/v23.0/{template_id}", json={"components": components})
    assert "once in 24 hours" in _error(too_soon)["error_data"]["details"]
    clock.advance(24 * 3600)
    edited = await wagate.client.post(f"/v23.0/{template_id}", json={"components": components})
    assert edited.json() == {"success": True}
    after = (await wagate.client.get(f"/v23.0/{template_id}")).json()
    assert after["status"] == "PENDING"
    assert after["message_send_ttl_seconds"] == 600
    assert after["components"][0]["text"].startswith("Hi {{first_name}}")

    await template_service.do_set_template_status(wagate.rt, int(template_id), "REJECTED", "INVALID_FORMAT")
    rejected = (await wagate.client.get(f"/v23.0/{template_id}")).json()
    assert rejected["rejected_reason"] == "INVALID_FORMAT"
    assert (
        await wagate.client.post(f"/v23.0/{template_id}", json={"category": "MARKETING"})
    ).status_code == 200

    rows = wagate.rt.db.read_now(
        lambda conn: conn.execute(
            select(events.c.type, events.c.field, events.c.waba_id, events.c.meta_value).order_by(events.c.id)
        ).all()
    )
    values = [
        json.loads(opened(wagate.rt.db, events.c.meta_value, r.meta_value))
        for r in rows
        if r.type == "template.status"
    ]
    assert [v["event"] for v in values] == ["APPROVED", "PENDING", "REJECTED", "PENDING"]
    assert all(r.field == "message_template_status_update" for r in rows if r.type == "template.status")
    assert all(r.waba_id == int(wagate.waba_id) for r in rows if r.type == "template.status")
    assert values[2] == {
        "event": "REJECTED",
        "message_template_id": int(template_id),
        "message_template_name": "order_ready",
        "message_template_language": "en_US",
        "message_template_category": "UTILITY",
        "reason": "INVALID_FORMAT",
    }
    assert values[3]["message_template_category"] == "MARKETING"


async def test_another_organizations_waba_and_template_are_unknown(wagate: Wagate) -> None:
    template_id = (await _create(wagate, NAMED_ORDER)).json()["id"]
    other = make_organization(wagate.rt.db, wagate.rt.clock.now())
    theirs = {"Authorization": f"Bearer {other.token}"}
    for response in (
        await wagate.client.get(_path(wagate), headers=theirs),
        await wagate.client.post(_path(wagate), json=AUTH_COPY_CODE, headers=theirs),
        await wagate.client.delete(_path(wagate), params={"name": "order_ready"}, headers=theirs),
        await wagate.client.get(f"/v23.0/{template_id}", headers=theirs),
        await wagate.client.post(f"/v23.0/{template_id}", json={"category": "UTILITY"}, headers=theirs),
    ):
        error = _error(response)
        assert error["type"] == "GraphMethodException" and error["code"] == 100
    mine = await wagate.client.get(_path(wagate), params={"name": "order_ready"})
    assert len(mine.json()["data"]) == 1
    assert _error(await wagate.client.get(f"/v23.0/{other.number.waba_id}/message_templates"))["code"] == 100


async def test_a_template_is_sent_once_approved(wagate: Wagate) -> None:
    template_id = (await _create(wagate, NAMED_ORDER)).json()["id"]
    send: dict[str, object] = {
        "messaging_product": "whatsapp",
        "to": "+79161230001",
        "type": "template",
        "template": {
            "name": "order_ready",
            "language": {"code": "en_US"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "parameter_name": "first_name", "text": "Anna"},
                        {"type": "text", "parameter_name": "order_id", "text": "A-7"},
                    ],
                }
            ],
        },
    }
    refused = await wagate.send(send)
    assert refused.status_code == 404, refused.text
    assert refused.json()["error"]["code"] == 132001
    assert await template_service.do_set_template_status(wagate.rt, int(template_id), "APPROVED")
    sent = await wagate.send(send)
    assert sent.status_code == 200, sent.text
    wamid = sent.json()["messages"][0]["id"]
    message = await wagate.message(wamid)
    assert message["type"] == "template"
    await wagate.client.delete(_path(wagate), params={"name": "order_ready"})
    kept = await wagate.message(wamid)
    assert kept["id"] == wamid and kept["type"] == "template"
    stored = wagate.rt.db.read_now(
        lambda conn: conn.execute(select(messages.c.template_name).where(messages.c.wamid == wamid)).scalar()
    )
    assert stored == "order_ready"


async def test_the_simulator_reviews_pending_templates(wagate: Wagate, clock: SettableClock) -> None:
    promotion = (await _create(wagate, SEASONAL_PROMOTION)).json()["id"]
    utility = _with(NAMED_ORDER, name="order_discount")
    utility["components"][0]["text"] = (
        "Hi {{first_name}}, order {{order_id}} is ready: enjoy a discount next time."
    )
    recategorised = (await _create(wagate, utility)).json()["id"]
    plain = (await _create(wagate, NAMED_ORDER)).json()["id"]
    leading = [
        {"type": "BODY", "text": "{{1}} is your order number, thank you.", "example": {"body_text": [["7"]]}}
    ]
    org = (await tenancy.authenticate(wagate.rt, f"Bearer {wagate.token}", Scope.READ)).org
    invalid = make_template(
        wagate.rt.db,
        org.id,
        int(wagate.waba_id),
        "leading",
        leading,
        status="PENDING",
        now=wagate.rt.clock.now(),
    )

    async def status_of(template_id: object) -> dict[str, Any]:
        body: dict[str, Any] = (await wagate.client.get(f"/v23.0/{template_id}")).json()
        return body

    clock.advance(1.0)
    assert (await status_of(plain))["status"] == "PENDING"
    clock.advance(1.5)

    async def reviewed() -> bool:
        return all(
            [(await status_of(t))["status"] != "PENDING" for t in (promotion, recategorised, plain, invalid)]
        )

    await eventually(reviewed)
    assert {k: (await status_of(promotion))[k] for k in ("status", "category")} == {
        "status": "APPROVED",
        "category": "MARKETING",
    }
    assert (await status_of(plain))["category"] == "UTILITY"
    assert (await status_of(recategorised))["category"] == "MARKETING"
    assert {k: (await status_of(invalid))[k] for k in ("status", "rejected_reason")} == {
        "status": "REJECTED",
        "rejected_reason": "INVALID_FORMAT",
    }
    listed = await wagate.client.get(
        _path(wagate), params={"status": "REJECTED", "fields": "name,rejected_reason"}
    )
    assert listed.json()["data"] == [
        {"id": str(invalid), "name": "leading", "rejected_reason": "INVALID_FORMAT"}
    ]
    rows = wagate.rt.db.read_now(
        lambda conn: conn.execute(
            select(events.c.meta_value).where(
                events.c.type == "template.category", events.c.field == "template_category_update"
            )
        ).all()
    )
    values = [json.loads(opened(wagate.rt.db, events.c.meta_value, r.meta_value)) for r in rows]
    changes = sorted((v["message_template_name"], v["new_category"]) for v in values)
    assert changes == [("order_discount", "MARKETING")]
