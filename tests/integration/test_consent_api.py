"""The consent ledger as users meet it: keywords in WhatsApp, the API, imports, Meta's preferences, policy."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from tests.conftest import Wagate
from tests.factories import MARKETING_OFFER, make_organization, make_template, weekly_offer
from tests.helpers import eventually, opened
from wagate.cloudapi.signatures import hub_signature
from wagate.domain.policy_settings import DEFAULT_OPT_IN_REPLY, DEFAULT_OPT_OUT_REPLY
from wagate.services import consent_replies, simulator_sync
from wagate.store.schema import consents, events, messages

CUSTOMER = "79161112233"


async def customer(w: Wagate, **action: Any) -> str:
    """A simulated customer writes or presses a button; returns the simulator's id of the message."""
    body = {"phone_number_id": w.phone_number_id, "from": "+" + CUSTOMER, "name": "Anna", **action}
    response = await w.client.post("/api/v1/simulator/messages", json=body)
    assert response.status_code == 201, response.text
    message_id: str = response.json()["id"]
    return message_id


async def contact_id(w: Wagate, wa_id: str = CUSTOMER) -> int:
    async def found() -> int | None:
        data = (await w.client.get("/api/v1/contacts", params={"q": wa_id})).json()["data"]
        return int(data[0]["id"]) if data else None

    found_id: int = await eventually(found)
    return found_id


async def consent_of(w: Wagate, cid: int) -> dict[str, Any]:
    response = await w.client.get(f"/api/v1/contacts/{cid}/consent")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def history_of(w: Wagate, cid: int, length: int) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]] | None:
        history: list[dict[str, Any]] = (await consent_of(w, cid))["history"]
        return history if len(history) == length else None

    found: list[dict[str, Any]] = await eventually(check)
    return found


def inbound_wamid(w: Wagate, upstream_id: str) -> str:
    return str(
        w.rt.db.read_now(
            lambda c: c.execute(
                select(messages.c.wamid).where(messages.c.upstream_id == upstream_id)
            ).scalar_one()
        )
    )


def replies_to(w: Wagate, wa_id: str) -> list[tuple[str, str]]:
    """The business's text messages to a contact, oldest first: (wamid, body)."""
    rows = w.rt.db.read_now(
        lambda c: c.execute(
            select(messages.c.wamid, messages.c.content)
            .where(messages.c.wa_id == wa_id, messages.c.direction == "out", messages.c.type == "text")
            .order_by(messages.c.id)
        ).all()
    )
    return [(r.wamid, json.loads(opened(w.rt.db, messages.c.content, r.content))["body"]) for r in rows]


async def replies(w: Wagate, count: int) -> list[tuple[str, str]]:
    """Wait until the business has sent `count` text messages to the customer; returns them."""

    async def check() -> list[tuple[str, str]] | None:
        found = replies_to(w, CUSTOMER)
        return found if len(found) == count else None

    found: list[tuple[str, str]] = await eventually(check)
    return found


async def reached(w: Wagate, wamid: str) -> bool:
    return (await w.message(wamid))["status"] in ("delivered", "read")


def consent_events(w: Wagate) -> list[dict[str, Any]]:
    rows = w.rt.db.read_now(
        lambda c: c.execute(
            select(events.c.payload).where(events.c.type == "contact.consent").order_by(events.c.id)
        ).all()
    )
    return [json.loads(opened(w.rt.db, events.c.payload, r.payload)) for r in rows]


async def test_stop_opts_out_with_proof_and_a_russian_confirmation_then_start_resubscribes(
    wagate: Wagate,
) -> None:
    stop_id = await customer(wagate, text="СТОП!")
    cid = await contact_id(wagate)
    [opt_out] = await history_of(wagate, cid, 1)
    assert (opt_out["purpose"], opt_out["action"], opt_out["source"]) == ("marketing", "opt_out", "keyword")
    assert opt_out["proof"] == "СТОП!"
    assert opt_out["message_id"] == inbound_wamid(wagate, stop_id)
    [(reply_wamid, body)] = await replies(wagate, 1)
    assert body == DEFAULT_OPT_OUT_REPLY["ru"]
    assert await eventually(lambda: reached(wagate, reply_wamid))
    reply = await wagate.message(reply_wamid)
    assert reply["priority"] == 1 and reply["type"] == "text"
    [event] = consent_events(wagate)
    assert (event["wa_id"], event["action"], event["id"]) == (CUSTOMER, "opt_out", opt_out["id"])
    explained = (await consent_of(wagate, cid))["purposes"]["marketing"]
    assert explained["state"] == "opted_out" and explained["allowed"] is False
    assert explained["reasons"][0].startswith("opted out by keyword «СТОП!» at ")

    await customer(wagate, text=" START ")
    history = await history_of(wagate, cid, 2)
    assert [h["action"] for h in history] == ["opt_out", "opt_in"]
    assert (await replies(wagate, 2))[1][1] == DEFAULT_OPT_IN_REPLY["en"]
    await customer(wagate, text="Старт")
    await history_of(wagate, cid, 3)
    assert (await replies(wagate, 3))[2][1] == DEFAULT_OPT_IN_REPLY["ru"]
    marketing = (await consent_of(wagate, cid))["purposes"]["marketing"]
    assert marketing["state"] == "opted_in" and marketing["allowed"] is True


async def test_the_confirmation_goes_after_the_commit_once_however_often_its_event_is_handled(
    wagate: Wagate,
) -> None:
    """The keyword's consent is recorded in the ingest commit; its confirmation is sent by a consumer of
    the `contact.consent` event through the one send call, keyed by the event's id."""
    await customer(wagate, text="СТОП")
    [(reply_wamid, _)] = await replies(wagate, 1)
    row = wagate.rt.db.read_now(
        lambda c: c.execute(
            select(events.c.event_id, events.c.org_id, events.c.payload).where(
                events.c.type == "contact.consent"
            )
        ).one()
    )
    record = json.loads(opened(wagate.rt.db, events.c.payload, row.payload))
    # A worker that died before its cursor moved hands the event over again: nothing more is queued.
    again = await consent_replies.confirm_keyword(wagate.rt, row.org_id, row.event_id, record)
    assert again == reply_wamid
    assert [w for w, _ in replies_to(wagate, CUSTOMER)] == [reply_wamid]
    # A consent recorded through the API (not a keyword) is not confirmed in WhatsApp.
    assert (
        await consent_replies.confirm_keyword(wagate.rt, row.org_id, "other", record | {"source": "api"})
        is None
    )
    gone = record | {"message_id": "wamid.NO_SUCH_MESSAGE"}
    assert await consent_replies.confirm_keyword(wagate.rt, row.org_id, "other", gone) is None
    # Another organization's event names a message it cannot see.
    assert await consent_replies.confirm_keyword(wagate.rt, row.org_id + 1, "other", record) is None
    assert len(replies_to(wagate, CUSTOMER)) == 1


async def test_a_sentence_with_stop_in_it_changes_nothing(wagate: Wagate) -> None:
    await customer(wagate, text="stop sending me the wrong size")
    await customer(wagate, text="Hello")
    cid = await contact_id(wagate)
    await eventually(lambda: _two_inbound(wagate))
    assert (await consent_of(wagate, cid))["history"] == []
    assert replies_to(wagate, CUSTOMER) == []


async def _two_inbound(w: Wagate) -> bool:
    query = select(func.count()).select_from(messages).where(messages.c.direction == "in")
    return int(w.rt.db.read_now(lambda c: c.execute(query).scalar_one())) == 2


async def test_a_reply_button_whose_title_is_a_keyword_opts_out(wagate: Wagate) -> None:
    await customer(wagate, type="button_reply", button_id="unsubscribe", title="Отписаться")
    cid = await contact_id(wagate)
    [record] = await history_of(wagate, cid, 1)
    assert (record["action"], record["source"], record["proof"]) == ("opt_out", "button", "Отписаться")
    assert (await replies(wagate, 1))[0][1] == DEFAULT_OPT_OUT_REPLY["ru"]


async def test_stop_promotions_under_a_marketing_template_opts_out(wagate: Wagate) -> None:
    made = await wagate.client.post("/api/v1/contacts", json={"phone": "+" + CUSTOMER})
    cid = made.json()["id"]
    # Collected at checkout a minute ago (Meta's message times are whole seconds: keep them apart).
    recorded = await wagate.client.post(
        f"/api/v1/contacts/{cid}/consent",
        json={
            "purpose": "marketing",
            "action": "opt_in",
            "source": "web_form",
            "proof": "checkbox",
            "at": wagate.rt.clock.now() - 60,
        },
    )
    assert recorded.status_code == 201, recorded.text
    number = await wagate.rt.db.read(lambda c: _number(c, int(wagate.phone_number_id)))
    template_id = make_template(
        wagate.rt.db, number[0], number[1], "weekly_offer", MARKETING_OFFER, category="MARKETING", now=1.0
    )
    await simulator_sync.template_changed(wagate.rt, template_id)
    sent = await wagate.send(weekly_offer(CUSTOMER))
    assert sent.status_code == 200, sent.text
    offer = sent.json()["messages"][0]["id"]
    await eventually(lambda: reached(wagate, offer))
    await customer(wagate, type="button", payload="STOP_PROMOTIONS", text="Stop promotions", reply_to=offer)
    history = await history_of(wagate, cid, 2)
    assert (history[1]["action"], history[1]["source"], history[1]["proof"]) == (
        "opt_out",
        "button",
        "Stop promotions",
    )
    assert (await replies(wagate, 1))[0][1] == DEFAULT_OPT_OUT_REPLY["en"]
    assert (await consent_of(wagate, cid))["purposes"]["marketing"]["state"] == "opted_out"


def _number(conn: Any, number_id: int) -> tuple[int, int]:
    from wagate.store.tenancy import number_by_id

    number = number_by_id(conn, number_id)
    assert number is not None
    return number.org_id, number.waba_id


async def test_custom_keywords_through_the_policy_and_an_invalid_patch_changes_nothing(
    wagate: Wagate,
) -> None:
    defaults = (await wagate.client.get("/api/v1/policy")).json()
    assert defaults["opt_out_keywords"]["ru"] == ["СТОП", "ОТПИСАТЬСЯ", "ОТПИСКА"]
    assert defaults["marketing_per_day"] == 1
    changed = await wagate.client.patch(
        "/api/v1/policy",
        json={
            "opt_out_keywords": {"de": ["Abmelden"]},
            "opt_out_reply": {"de": "Abgemeldet."},
            "marketing_per_day": 2,
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["opt_out_keywords"] == {"de": ["Abmelden"]}
    assert changed.json()["opt_in_keywords"] == defaults["opt_in_keywords"]

    for invalid in (
        {"marketing_per_day": 5, "marketing_per_week": 3},
        {"opt_out_keywords": {"en": []}},
        {"no_such_setting": True},
        {"marketing_per_day": "two"},
        {"opt_in_keywords": {"de": ["abmelden"]}},
    ):
        refused = await wagate.client.patch("/api/v1/policy", json=invalid)
        assert refused.status_code == 400, invalid
        assert refused.json()["error"]["code"] == "invalid_request"
    assert (await wagate.client.get("/api/v1/policy")).json() == changed.json()

    await customer(wagate, text="STOP")  # no longer a keyword
    await customer(wagate, text="abmelden!")
    cid = await contact_id(wagate)
    [record] = await history_of(wagate, cid, 1)
    assert record["proof"] == "abmelden!"
    assert (await replies(wagate, 1))[0][1] == "Abgemeldet."

    back = await wagate.client.patch("/api/v1/policy", json={"opt_out_keywords": None})
    assert back.json()["opt_out_keywords"] == defaults["opt_out_keywords"]
    assert back.json()["marketing_per_day"] == 2


async def test_record_through_the_api_and_the_explanation(wagate: Wagate) -> None:
    made = await wagate.client.post("/api/v1/contacts", json={"phone": "+7 916 111-22-33"})
    cid = made.json()["id"]
    empty = await consent_of(wagate, cid)
    assert empty["contact"] == {"id": cid, "wa_id": CUSTOMER}
    assert empty["purposes"]["marketing"] == {
        "state": "none",
        "since": None,
        "record": None,
        "allowed": False,
        "reasons": [
            "no marketing opt-in recorded: marketing is refused (139001)",
            "marketing frequency: 0 of 1 in 24 hours, 0 of 3 in 7 days",
            "no open window: only templates can be sent, and each counts as business-initiated",
        ],
        "refusal_code": 139001,
    }
    assert empty["purposes"]["utility"]["allowed"] is True

    now = wagate.rt.clock.now()
    path = f"/api/v1/contacts/{cid}/consent"
    for invalid in (
        {"purpose": "newsletters", "action": "opt_in"},
        {"purpose": "marketing", "action": "maybe"},
        {"purpose": "marketing", "action": "opt_in", "at": now + 3600},
        {"purpose": "marketing", "action": "opt_in", "source": ""},
        {"action": "opt_in"},
    ):
        refused = await wagate.client.post(path, json=invalid)
        assert refused.status_code == 400, invalid
    assert (await consent_of(wagate, cid))["history"] == []

    optin = await wagate.client.post(
        path,
        json={
            "purpose": "marketing",
            "action": "opt_in",
            "source": "checkout",
            "proof": "order A-1001",
            "at": now - 60,
        },
    )
    assert optin.status_code == 201
    assert optin.json()["at"] == now - 60 and optin.json()["source"] == "checkout"
    utility_out = await wagate.client.post(path, json={"purpose": "utility", "action": "opt_out"})
    assert utility_out.json()["source"] == "api"
    body = await consent_of(wagate, cid)
    assert [h["id"] for h in body["history"]] == [optin.json()["id"], utility_out.json()["id"]]
    marketing = body["purposes"]["marketing"]
    assert marketing["allowed"] is True and marketing["since"] == now - 60
    assert marketing["reasons"][0] == f"opted in via checkout (order A-1001) at {_iso(now - 60)}"
    utility = body["purposes"]["utility"]
    assert (
        utility["state"] == "opted_out" and utility["allowed"] is False and utility["refusal_code"] == 139004
    )
    assert body["purposes"]["authentication"]["state"] == "none"
    assert [e["source"] for e in consent_events(wagate)] == ["checkout", "api"]


def _iso(at: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _consent_count(w: Wagate) -> int:
    return int(w.rt.db.read_now(lambda c: c.execute(select(func.count()).select_from(consents)).scalar_one()))


async def test_csv_import_creates_contacts_and_an_invalid_file_writes_nothing(wagate: Wagate) -> None:
    known = await wagate.client.post("/api/v1/contacts", json={"phone": "+79160000001"})
    assert known.status_code == 201
    valid = (
        "phone,purpose,action,source,proof,at\n"
        "+7 916 000-00-01,marketing,opt_in,web_form,newsletter checkbox,2026-01-15T10:00:00Z\n"
        "8 (916) 000-00-02,marketing,opt_in,,,1768471200\n"
        "79160000003,utility,opt_out,paper,,\n"
    )
    response = await wagate.client.post(
        "/api/v1/consents/import", content=valid.encode(), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"imported": 3, "contacts_created": 2}
    created = await contact_id(wagate, "79160000002")
    [record] = (await consent_of(wagate, created))["history"]
    assert (record["source"], record["at"]) == ("csv", 1768471200.0)
    first = (await consent_of(wagate, known.json()["id"]))["history"][0]
    assert (first["proof"], first["at"]) == ("newsletter checkbox", 1768471200.0)

    before = _consent_count(wagate)
    invalid = (
        "phone,purpose,action,at\n"
        "+79160000004,marketing,opt_in,\n"
        "not a phone,marketing,opt_in,\n"
        "+79160000005,sms,opt_in,\n"
        "+79160000006,marketing,opt_in,yesterday\n"
        "+79160000007,marketing\n"
    )
    refused = await wagate.client.post(
        "/api/v1/consents/import",
        content=invalid.encode(),
        headers={"Content-Type": "text/csv; charset=utf-8"},
    )
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert [p["row"] for p in error["data"]["problems"]] == [2, 3, 4, 5]
    assert "phone" in error["data"]["problems"][0]["problems"][0]
    assert _consent_count(wagate) == before
    missing = (await wagate.client.get("/api/v1/contacts", params={"q": "79160000004"})).json()["data"]
    assert missing == []

    as_json = await wagate.client.post(
        "/api/v1/consents/import",
        json={
            "records": [
                {"phone": "+79160000008", "purpose": "marketing", "action": "opt_out", "at": 1768471200}
            ]
        },
    )
    assert as_json.json() == {"imported": 1, "contacts_created": 1}
    bad_json = await wagate.client.post(
        "/api/v1/consents/import", json={"records": [{"phone": 79160000009, "purpose": "marketing"}]}
    )
    assert bad_json.status_code == 400 and bad_json.json()["error"]["data"]["problems"][0]["row"] == 1
    wrong_header = await wagate.client.post(
        "/api/v1/consents/import", content=b"msisdn,purpose,action\n", headers={"Content-Type": "text/csv"}
    )
    assert wrong_header.status_code == 400


async def test_a_signed_user_preferences_webhook_records_a_consent_once(wagate: Wagate) -> None:
    made = await wagate.client.post("/api/v1/contacts", json={"phone": "+" + CUSTOMER})
    cid = made.json()["id"]
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": wagate.waba_id,
                    "time": 1795690000,
                    "changes": [
                        {
                            "field": "user_preferences",
                            "value": {
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
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()
    headers = {
        "X-Hub-Signature-256": hub_signature("test-app-secret", body),
        "Content-Type": "application/json",
    }
    for _ in range(2):  # Meta retries: one record
        assert (await wagate.client.post("/webhooks/meta", content=body, headers=headers)).status_code == 200
    [record] = (await consent_of(wagate, cid))["history"]
    assert (record["action"], record["source"], record["at"]) == ("opt_out", "user_preferences", 1795690000.0)
    assert record["proof"] == "User requested to stop marketing messages"
    marketing = (await consent_of(wagate, cid))["purposes"]["marketing"]
    assert marketing["refusal_code"] == 131050


async def test_erasure_keeps_the_consent_history_and_other_organizations_see_nothing(wagate: Wagate) -> None:
    made = await wagate.client.post("/api/v1/contacts", json={"phone": "+" + CUSTOMER})
    cid = made.json()["id"]
    path = f"/api/v1/contacts/{cid}/consent"
    assert (
        await wagate.client.post(path, json={"purpose": "marketing", "action": "opt_in"})
    ).status_code == 201

    other = make_organization(wagate.rt.db, wagate.rt.clock.now())
    theirs = {"Authorization": f"Bearer {other.token}"}
    assert (await wagate.client.get(path, headers=theirs)).status_code == 404
    sneaky = await wagate.client.post(
        path, json={"purpose": "marketing", "action": "opt_out"}, headers=theirs
    )
    assert sneaky.status_code == 404
    assert (await wagate.client.get("/api/v1/policy", headers=theirs)).json()["marketing_per_day"] == 1

    assert (await wagate.client.delete(f"/api/v1/contacts/{cid}")).status_code == 200
    assert (await wagate.client.get(path)).status_code == 404
    again = await wagate.client.post("/api/v1/contacts", json={"phone": "+" + CUSTOMER})
    history = (await consent_of(wagate, again.json()["id"]))["history"]
    assert [(h["purpose"], h["action"]) for h in history] == [("marketing", "opt_in")]
