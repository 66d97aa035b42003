"""The send API over HTTP, as a business's code calls it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import Wagate
from tests.factories import MARKETING_OFFER, ORDER_UPDATE, make_organization, make_template, weekly_offer
from tests.helpers import eventually, opened
from wagate.store import access as access_sql
from wagate.store import tenancy as tenancy_sql
from wagate.store.schema import messages, outbox
from wagate.workers.dispatcher import Dispatcher

HELLO = {
    "messaging_product": "whatsapp",
    "to": "+16505551234",
    "type": "template",
    "template": {"name": "hello_world", "language": {"code": "en_US"}},
}


def text(to: str = "+79161234567", body: str = "Your order is ready") -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": body}}


async def status_of(w: Wagate, wamid: str) -> str:
    return str((await w.message(wamid))["status"])


def count_messages(w: Wagate) -> int:
    return int(w.rt.db.read_now(lambda c: c.execute(select(func.count()).select_from(messages)).scalar_one()))


async def test_hello_world_is_delivered_then_read(wagate: Wagate) -> None:
    response = await wagate.send(HELLO)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+16505551234", "wa_id": "16505551234"}]
    wamid = body["messages"][0]["id"]
    assert wamid.startswith("wamid.") and body["messages"][0]["message_status"] == "accepted"

    async def read() -> bool:
        return await status_of(wagate, wamid) == "read"

    await eventually(read)
    message = await wagate.message(wamid)
    assert [h["status"] for h in message["history"]] == ["accepted", "sent", "delivered", "read"]  # type: ignore[index]
    times = [h["at"] for h in message["history"]]  # type: ignore[index]
    assert times == sorted(times)
    assert message["category"] == "UTILITY" and message["priority"] == 2


async def test_text_answer_has_no_message_status_and_normalizes_number(wagate: Wagate) -> None:
    await wagate.customer_writes("79161234567")
    # No country code: the business number's country (RU) applies, as on Meta.
    response = await wagate.send(text(to="8 (916) 123-45-67"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["contacts"] == [{"input": "8 (916) 123-45-67", "wa_id": "79161234567"}]
    assert "message_status" not in body["messages"][0]


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"Authorization": ""}, 190),
        ({"Authorization": "Bearer wgt_not-a-token"}, 190),
        ({"Authorization": "Basic abc"}, 190),
    ],
)
async def test_bad_tokens_answer_like_meta(wagate: Wagate, headers: dict[str, str], code: int) -> None:
    response = await wagate.send(HELLO, **headers)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == code and error["type"] == "OAuthException" and error["fbtrace_id"]


async def test_number_of_another_organization_is_unknown(wagate: Wagate) -> None:
    other = make_organization(wagate.rt.db, wagate.rt.clock.now())
    before = count_messages(wagate)
    response = await wagate.client.post(f"/v23.0/{other.number.id}/messages", json=HELLO)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100 and error["type"] == "GraphMethodException"
    assert str(other.number.id) in error["message"]
    # and the other organization cannot use ours either
    response = await wagate.client.post(
        f"/v23.0/{wagate.phone_number_id}/messages",
        json=HELLO,
        headers={"Authorization": f"Bearer {other.token}"},
    )
    assert response.status_code == 400
    assert count_messages(wagate) == before


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"to": "+79161234567", "type": "text", "text": {"body": "x"}}, 100, "messaging_product"),
        ({"messaging_product": "whatsapp", "to": "+79161234567", "type": "text"}, 131008, "text"),
        ({**text(), "text": {"body": "x" * 4097}}, 131009, "text.body"),
        ({**text(), "to": "not a number"}, 131009, "to"),
        ({**text(), "type": "hologram"}, 131051, "type"),
    ],
)
async def test_invalid_requests_change_nothing(
    wagate: Wagate, body: dict[str, Any], code: int, field: str
) -> None:
    before = count_messages(wagate)
    response = await wagate.send(body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert field in error["error_data"]["details"]
    assert count_messages(wagate) == before


async def test_malformed_json_is_a_graph_error(wagate: Wagate) -> None:
    response = await wagate.client.post(
        f"/v23.0/{wagate.phone_number_id}/messages",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100


async def test_any_version_is_accepted_and_bad_versions_are_not(wagate: Wagate) -> None:
    ok = await wagate.client.post(f"/v25.0/{wagate.phone_number_id}/messages", json=HELLO)
    assert ok.status_code == 200
    bad = await wagate.client.post(f"/latest/{wagate.phone_number_id}/messages", json=HELLO)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == 100


async def test_idempotency_key_replays_and_conflicts(wagate: Wagate) -> None:
    await wagate.customer_writes("79161234567")
    first = await wagate.send(text(), **{"Idempotency-Key": "order-1"})
    again = await wagate.send(text(), **{"Idempotency-Key": "order-1"})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    before = count_messages(wagate)
    other = await wagate.send(text(body="another body"), **{"Idempotency-Key": "order-1"})
    assert other.status_code == 409
    assert other.json()["error"]["fbtrace_id"]
    assert count_messages(wagate) == before
    # keys are scoped to the organization
    org2 = make_organization(wagate.rt.db, wagate.rt.clock.now())
    await wagate.customer_writes("79161234567", phone_number_id=org2.number.id, token=org2.token)
    theirs = await wagate.client.post(
        f"/v23.0/{org2.number.id}/messages",
        json=text(),
        headers={"Authorization": f"Bearer {org2.token}", "Idempotency-Key": "order-1"},
    )
    assert theirs.status_code == 200 and theirs.json() != first.json()


async def test_idempotency_key_expires_after_its_ttl(wagate: Wagate) -> None:
    await wagate.customer_writes("79161234567")
    first = await wagate.send(text(), **{"Idempotency-Key": "k-ttl"})
    wagate.rt.clock.advance(wagate.rt.settings.idempotency_ttl + 1)  # type: ignore[attr-defined]
    await wagate.customer_writes("79161234567", text="Still there?")  # the window closed meanwhile
    later = await wagate.send(text(), **{"Idempotency-Key": "k-ttl"})
    assert later.status_code == 200
    assert later.json()["messages"][0]["id"] != first.json()["messages"][0]["id"]


async def test_unknown_template_and_wrong_parameters(wagate: Wagate) -> None:
    missing = await wagate.send({**HELLO, "template": {"name": "no_such", "language": {"code": "en_US"}}})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == 132001
    wrong_language = await wagate.send(
        {**HELLO, "template": {"name": "hello_world", "language": {"code": "fr"}}}
    )
    assert wrong_language.json()["error"]["code"] == 132001
    extra = await wagate.send(
        {
            **HELLO,
            "template": {
                "name": "hello_world",
                "language": {"code": "en_US"},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": "surprise"}]}],
            },
        }
    )
    assert extra.status_code == 400 and extra.json()["error"]["code"] == 132000


async def test_template_with_parameters_is_sent_with_them(wagate: Wagate) -> None:
    org = wagate.rt.db.read_now(lambda c: access_sql.org_by_token(c, wagate.token))
    assert org is not None
    await wagate.template_added(
        make_template(wagate.rt.db, org.id, int(wagate.waba_id), "order_update", ORDER_UPDATE)
    )
    body = {
        "messaging_product": "whatsapp",
        "to": "+79161230001",
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "en_US"},
            "components": [
                {"type": "header", "parameters": [{"type": "text", "text": "A-7"}]},
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Anna"},
                        {"type": "text", "text": "A-7"},
                        {"type": "text", "text": "RB1RU"},
                    ],
                },
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": "RB1RU"}],
                },
            ],
        },
    }
    response = await wagate.send(body)
    assert response.status_code == 200, response.text
    wamid = response.json()["messages"][0]["id"]

    async def delivered() -> bool:
        return await status_of(wagate, wamid) in ("delivered", "read")

    await eventually(delivered)


async def test_authentication_code_is_urgent_and_redacted_once_sent(wagate: Wagate) -> None:
    body = {
        "messaging_product": "whatsapp",
        "to": "+79161230002",
        "type": "template",
        "template": {
            "name": "verification_code",
            "language": {"code": "ru"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "482913"}]},
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": "482913"}],
                },
            ],
        },
    }
    response = await wagate.send(body)
    assert response.status_code == 200, response.text
    wamid = response.json()["messages"][0]["id"]
    message = await wagate.message(wamid)
    assert message["priority"] == 1 and message["category"] == "AUTHENTICATION"

    def stored_content() -> str:
        stored = wagate.rt.db.read_now(
            lambda c: c.execute(select(messages.c.content).where(messages.c.wamid == wamid)).scalar_one()
        )
        return str(opened(wagate.rt.db, messages.c.content, stored))

    async def sent() -> bool:
        return await status_of(wagate, wamid) in ("sent", "delivered", "read")

    await eventually(sent)
    assert "482913" not in stored_content()


async def test_marketing_never_delays_a_reply(wagate: Wagate) -> None:
    rt = wagate.rt
    org = rt.db.read_now(lambda c: access_sql.org_by_token(c, wagate.token))
    assert org is not None
    offer = make_template(
        rt.db, org.id, int(wagate.waba_id), "weekly_offer", MARKETING_OFFER, category="MARKETING"
    )
    await wagate.template_added(offer)
    await wagate.opt_in(*(f"7916200{i:04d}" for i in range(40)))
    await wagate.customer_writes("79169990001")
    rt.db.write_now(tenancy_sql.UpdateNumberRate(int(wagate.phone_number_id), 5))
    assert isinstance(rt.waker, Dispatcher)
    await rt.waker.tick()  # the dispatcher picks up rate changes on its next round; don't wait for it
    campaign = []
    for i in range(40):
        response = await wagate.send(weekly_offer(f"+7916200{i:04d}"))
        assert response.status_code == 200, response.text
        campaign.append(response.json()["messages"][0]["id"])
    reply = (await wagate.send(text(to="+79169990001", body="Yes, we open at 9"))).json()["messages"][0]["id"]

    async def reply_sent() -> bool:
        return await status_of(wagate, reply) != "accepted"

    await eventually(reply_sent, within=15)
    waiting = rt.db.read_now(lambda c: c.execute(select(func.count()).select_from(outbox)).scalar_one())
    assert waiting >= 30, "the reply went out before most of the campaign"


async def test_not_a_whatsapp_user_fails_after_acceptance(wagate: Wagate) -> None:
    # Nobody can write from a number that is not on WhatsApp: the business reaches it with a template.
    response = await wagate.send({**HELLO, "to": "+79161230000"})
    assert response.status_code == 200
    wamid = response.json()["messages"][0]["id"]

    async def failed() -> bool:
        return await status_of(wagate, wamid) == "failed"

    await eventually(failed)
    message = await wagate.message(wamid)
    assert message["error"]["code"] == 131026  # type: ignore[index]
    assert message["history"][-1]["status"] == "failed"  # type: ignore[index]


async def test_customer_message_then_reply_with_context_read_receipt_and_typing(wagate: Wagate) -> None:
    customer = await wagate.client.post(
        "/api/v1/simulator/messages",
        json={
            "phone_number_id": wagate.phone_number_id,
            "from": "+79165550011",
            "name": "Ivan",
            "text": "Hi! Is my order ready?",
        },
    )
    assert customer.status_code == 201, customer.text
    sim_id = customer.json()["id"]
    inbound = await eventually(lambda: _inbound_wamid(wagate, sim_id))
    read = await wagate.send({"messaging_product": "whatsapp", "status": "read", "message_id": inbound})
    assert read.status_code == 200 and read.json() == {"success": True}
    typing = await wagate.send(
        {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": inbound,
            "typing_indicator": {"type": "text"},
        }
    )
    assert typing.json() == {"success": True}
    reply = await wagate.send(
        {**text(to="+79165550011", body="Yes, it is ready"), "context": {"message_id": inbound}}
    )
    assert reply.status_code == 200, reply.text
    wamid = reply.json()["messages"][0]["id"]

    async def delivered() -> bool:
        return await status_of(wagate, wamid) in ("delivered", "read")

    await eventually(delivered)
    assert (await wagate.message(wamid))["context_message_id"] == inbound
    unknown = await wagate.send(
        {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.nope"}
    )
    assert unknown.status_code == 400


async def _inbound_wamid(w: Wagate, upstream_id: str) -> str | None:
    row = w.rt.db.read_now(
        lambda c: c.execute(
            select(messages.c.wamid).where(
                messages.c.upstream_id == upstream_id, messages.c.direction == "in"
            )
        ).first()
    )
    return None if row is None else str(row[0])


async def test_reaction_to_unknown_message_is_refused(wagate: Wagate) -> None:
    response = await wagate.send(
        {
            "messaging_product": "whatsapp",
            "to": "+79161234567",
            "type": "reaction",
            "reaction": {"message_id": "wamid.unknown", "emoji": "👍"},
        }
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 131009


async def test_reaction_to_a_queued_message_waits_for_it(wagate: Wagate) -> None:
    await wagate.customer_writes("79161234567")
    first = (await wagate.send(text())).json()["messages"][0]["id"]
    reaction = await wagate.send(
        {
            "messaging_product": "whatsapp",
            "to": "+79161234567",
            "type": "reaction",
            "reaction": {"message_id": first, "emoji": "👍"},
        }
    )
    assert reaction.status_code == 200, reaction.text
    wamid = reaction.json()["messages"][0]["id"]

    async def delivered() -> bool:
        return await status_of(wagate, wamid) in ("delivered", "read")

    await eventually(delivered)


async def test_get_message_of_another_organization_is_not_found(wagate: Wagate) -> None:
    await wagate.customer_writes("79161234567")
    wamid = (await wagate.send(text())).json()["messages"][0]["id"]
    other = make_organization(wagate.rt.db, wagate.rt.clock.now())
    response = await wagate.client.get(
        f"/api/v1/messages/{wamid}", headers={"Authorization": f"Bearer {other.token}"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_graph_object_resolver(wagate: Wagate) -> None:
    number = await wagate.client.get(f"/v23.0/{wagate.phone_number_id}")
    assert number.status_code == 200
    assert number.json()["id"] == wagate.phone_number_id
    assert number.json()["throughput"] == {"level": "STANDARD"}
    only = await wagate.client.get(
        f"/v23.0/{wagate.phone_number_id}", params={"fields": "display_phone_number"}
    )
    assert set(only.json()) == {"id", "display_phone_number"}
    assert (await wagate.client.get(f"/v23.0/{wagate.waba_id}")).json()["id"] == wagate.waba_id
    assert (await wagate.client.get("/v23.0/123456789")).status_code == 400
