"""WhatsApp's rules and the organization's policy, enforced before any upstream sees a message.

Each refusal at request time is an HTTP error with Meta's code (or wagate's own 139xxx); what time
changes while a message waits ends as a `failed` status. The simulated network, which enforces the same
rules on its own, refuses nothing in these tests (the conftest guard checks it after each one).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import Wagate
from tests.factories import MARKETING_OFFER, make_organization, make_template, weekly_offer
from tests.helpers import eventually, opened
from wagate.clock import SettableClock
from wagate.domain.policy import QualitySignals
from wagate.services import templates as template_service
from wagate.services.quality import do_update_quality
from wagate.store import access as access_sql
from wagate.store import templates as templates_sql
from wagate.store.schema import events, messages

DAY = 24 * 3600.0
CUSTOMER = "79161234567"


def text(to: str = CUSTOMER, body: str = "Your order is ready") -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": "+" + to, "type": "text", "text": {"body": body}}


def offer(to: str) -> dict[str, Any]:
    return weekly_offer("+" + to)


def hello(to: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": "+" + to,
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}},
    }


def code_of(response: httpx.Response) -> int:
    assert response.status_code == 400, response.text
    code: int = response.json()["error"]["code"]
    return code


def wamid_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["messages"][0]["id"])


def count_messages(w: Wagate, direction: str = "out") -> int:
    return int(
        w.rt.db.read_now(
            lambda c: c.execute(
                select(func.count()).select_from(messages).where(messages.c.direction == direction)
            ).scalar_one()
        )
    )


async def sent(w: Wagate, response: httpx.Response) -> None:
    """The send was accepted and has reached the network."""
    await ends(w, wamid_of(response), "sent", "delivered", "read")


async def ends(w: Wagate, wamid: str, *statuses: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        message: dict[str, Any] = await w.message(wamid)
        return message if message["status"] in statuses else None

    found: dict[str, Any] = await eventually(check)
    return found


async def add_offer(w: Wagate) -> None:
    org = w.rt.db.read_now(lambda c: access_sql.org_by_token(c, w.token))
    assert org is not None
    template_id = make_template(
        w.rt.db, org.id, int(w.waba_id), "weekly_offer", MARKETING_OFFER, category="MARKETING"
    )
    await w.template_added(template_id)


async def set_policy(w: Wagate, **settings: Any) -> None:
    response = await w.client.patch("/api/v1/policy", json=settings)
    assert response.status_code == 200, response.text


def hold_sends(w: Wagate, held: bool) -> None:
    """Every send attempt is throttled by the network while held: messages wait in the outbox."""
    assert w.rt.simulator is not None
    w.rt.simulator.rules.faults.update({"throttle": 1.0 if held else 0.0})


async def test_free_form_needs_the_customers_window(wagate: Wagate, clock: SettableClock) -> None:
    never_wrote = await wagate.send(text())
    assert code_of(never_wrote) == 131047
    assert "has not written" in never_wrote.json()["error"]["error_data"]["details"]
    assert count_messages(wagate) == 0  # refused: nothing stored, nothing queued

    await wagate.customer_writes(CUSTOMER)
    await ends(wagate, wamid_of(await wagate.send(text())), "delivered", "read")

    clock.advance(DAY - 60)
    await ends(wagate, wamid_of(await wagate.send(text(body="Still open"))), "delivered", "read")
    clock.advance(61)
    closed = await wagate.send(text(body="Too late"))
    assert code_of(closed) == 131047
    assert "24 hours" in closed.json()["error"]["error_data"]["details"]
    # A template is how a business starts again.
    await ends(wagate, wamid_of(await wagate.send(hello(CUSTOMER))), "delivered", "read")
    metrics = (await wagate.client.get("/metrics")).text
    assert 'wagate_policy_refusals_total{code="131047",stage="request"} 2.0' in metrics


async def test_a_reply_whose_window_closes_while_it_waits_ends_failed(
    wagate: Wagate, clock: SettableClock
) -> None:
    await wagate.customer_writes(CUSTOMER)
    clock.advance(DAY - 120)
    hold_sends(wagate, True)
    wamid = wamid_of(await wagate.send(text()))

    async def tried() -> bool:
        # Throttled and written back (a claim alone counts an attempt while the send may still go).
        delivery = (await wagate.message(wamid)).get("delivery")
        return isinstance(delivery, dict) and (delivery["last_error"] or {}).get("code") == 130429

    await eventually(tried)
    # The window closes while sends are still throttled: an attempt in flight now is throttled again,
    # and the next claim finds the window closed before anything reaches the network.
    clock.advance(3600)
    failed = await ends(wagate, wamid, "failed")
    hold_sends(wagate, False)
    assert failed["error"]["code"] == 131047
    assert "window closed" in failed["error"]["details"]
    assert wagate.rt.simulator is not None and wagate.rt.simulator.accepted == 0


async def test_marketing_needs_an_opt_in_and_never_goes_to_us_numbers(wagate: Wagate) -> None:
    await add_offer(wagate)
    assert code_of(await wagate.send(offer("79160000001"))) == 139001
    await wagate.opt_in("79160000001", "16505551234")
    await ends(wagate, wamid_of(await wagate.send(offer("79160000001"))), "delivered", "read")
    us = await wagate.send(offer("16505551234"))
    assert code_of(us) == 131049 and "US" in us.json()["error"]["error_data"]["details"]
    # Utility templates are not marketing: the US number gets them.
    await ends(wagate, wamid_of(await wagate.send(hello("16505551234"))), "delivered", "read")


async def test_a_contact_who_writes_stop_receives_nothing_promotional(
    wagate: Wagate, clock: SettableClock
) -> None:
    await add_offer(wagate)
    await set_policy(wagate, marketing_per_day=5, marketing_per_week=10)
    await wagate.opt_in(CUSTOMER)
    await ends(wagate, wamid_of(await wagate.send(offer(CUSTOMER))), "delivered", "read")
    # One more offer is waiting in the outbox when the customer writes «СТОП».
    hold_sends(wagate, True)
    waiting = wamid_of(await wagate.send(offer(CUSTOMER)))
    await wagate.customer_writes(CUSTOMER, text="СТОП")

    async def confirmed() -> dict[str, Any] | None:
        row = wagate.rt.db.read_now(
            lambda c: c.execute(
                select(messages.c.wamid, messages.c.content)
                .where(messages.c.direction == "out", messages.c.type == "text")
                .order_by(messages.c.id.desc())
            ).first()
        )
        return (
            None
            if row is None
            else {"wamid": row.wamid, "content": opened(wagate.rt.db, messages.c.content, row.content)}
        )

    confirmation = await eventually(confirmed)
    assert "СТАРТ" in confirmation["content"]
    hold_sends(wagate, False)
    clock.advance(3600)  # past the backoff of the throttled attempts: both are due again
    await ends(wagate, confirmation["wamid"], "delivered", "read")
    failed = await ends(wagate, waiting, "failed")
    assert failed["error"]["code"] == 131050
    refused = await wagate.send(offer(CUSTOMER))
    assert code_of(refused) == 131050
    # Service messages still reach the customer; only promotion stopped.
    await ends(wagate, wamid_of(await wagate.send(hello(CUSTOMER))), "delivered", "read")
    promotional = wagate.rt.db.read_now(
        lambda c: c.execute(
            select(func.count())
            .select_from(messages)
            .where(messages.c.category == "MARKETING", messages.c.status.in_(["delivered", "read"]))
        ).scalar_one()
    )
    assert promotional == 1  # only the offer sent before «СТОП»

    contacts = (await wagate.client.get("/api/v1/contacts", params={"q": CUSTOMER})).json()["data"]
    consent = (await wagate.client.get(f"/api/v1/contacts/{contacts[0]['id']}/consent")).json()
    marketing = consent["purposes"]["marketing"]
    assert marketing["state"] == "opted_out" and marketing["allowed"] is False
    assert marketing["record"]["source"] == "keyword" and marketing["record"]["proof"] == "СТОП"

    await wagate.customer_writes(CUSTOMER, text="СТАРТ")
    await eventually(lambda: _accepted(wagate, offer(CUSTOMER)))


async def consent_of(w: Wagate, wa_id: str) -> dict[str, Any]:
    found = (await w.client.get("/api/v1/contacts", params={"q": wa_id})).json()["data"]
    response = await w.client.get(f"/api/v1/contacts/{found[0]['id']}/consent")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _accepted(w: Wagate, body: dict[str, Any]) -> bool:
    return (await w.send(body)).status_code == 200


async def test_marketing_frequency_cap_per_contact(wagate: Wagate, clock: SettableClock) -> None:
    await add_offer(wagate)
    anna, boris = "79160000011", "79160000012"
    await wagate.opt_in(anna, boris)
    # Each offer reaches the network before the days pass, as a business's would.
    await sent(wagate, await wagate.send(offer(anna)))
    capped = await wagate.send(offer(anna))
    assert (
        code_of(capped) == 139002 and "1 a day, 3 a week" in capped.json()["error"]["error_data"]["details"]
    )
    explained = await consent_of(wagate, anna)
    assert explained["purposes"]["marketing"]["allowed"] is False
    assert any("(139002)" in reason for reason in explained["purposes"]["marketing"]["reasons"])
    assert explained["policy"]["marketing_frequency"] == {
        "last_24_hours": 1,
        "last_7_days": 1,
        "per_day": 1,
        "per_week": 3,
    }
    assert explained["policy"]["windows"] == [] and explained["policy"]["us_number"] is False
    await sent(wagate, await wagate.send(offer(boris)))  # the cap is per contact
    for _ in range(2):
        clock.advance(DAY)
        await sent(wagate, await wagate.send(offer(anna)))
    clock.advance(DAY)
    assert code_of(await wagate.send(offer(anna))) == 139002  # three this week
    clock.advance(4 * DAY + 1)
    await sent(wagate, await wagate.send(offer(anna)))  # the first of the week is more than 7 days old
    await set_policy(wagate, marketing_per_day=2, marketing_per_week=10)
    await sent(wagate, await wagate.send(offer(anna)))
    assert code_of(await wagate.send(offer(anna))) == 139002


async def test_a_new_organization_reaches_250_customers_a_day_outside_windows(
    wagate: Wagate, clock: SettableClock
) -> None:
    other = make_organization(wagate.rt.db, clock.now())
    org = wagate.rt.db.read_now(lambda c: access_sql.org_by_token(c, other.token))
    assert org is not None and org.messaging_tier == "TIER_250"
    template_id = make_template(
        wagate.rt.db,
        org.id,
        other.number.waba_id,
        "hello_world",
        [{"type": "BODY", "text": "Hello from the other shop"}],
    )
    await wagate.template_added(template_id)
    headers = {"Authorization": f"Bearer {other.token}"}
    url = f"/v23.0/{other.number.id}/messages"

    async def send(body: dict[str, Any]) -> httpx.Response:
        return await wagate.client.post(url, json=body, headers=headers)

    first_day = [wamid_of(await send(hello(f"7916300{i:04d}"))) for i in range(250)]
    beyond = await send(hello("79163009999"))
    assert code_of(beyond) == 139003 and "250" in beyond.json()["error"]["error_data"]["details"]
    await wagate.customer_writes("79163007777", phone_number_id=other.number.id, token=other.token)
    found = (await wagate.client.get("/api/v1/contacts", params={"q": "79163007777"}, headers=headers)).json()
    explained = (
        await wagate.client.get(f"/api/v1/contacts/{found['data'][0]['id']}/consent", headers=headers)
    ).json()
    assert explained["policy"]["messaging_tier"] == {
        "tier": "TIER_250",
        "limit": 250,
        "used": 250,
        "holds_a_place": False,
    }
    assert explained["policy"]["windows"][0]["open"] is True
    wamid_of(await send(hello("79163000000")))  # already counted today: no new place needed
    # A customer who writes in opens a window: a template to them is not business-initiated.
    await wagate.customer_writes("79163009999", phone_number_id=other.number.id, token=other.token)
    wamid_of(await send(hello("79163009999")))
    assert code_of(await send(hello("79163008888"))) == 139003

    async def first_day_at_the_network() -> bool:
        # The network counts a customer when the send reaches it: the day ends only after they all did.
        sent = wagate.rt.db.read_now(
            lambda c: c.execute(
                select(func.count()).where(
                    messages.c.wamid.in_(first_day), messages.c.upstream_id.is_not(None)
                )
            ).scalar_one()
        )
        return bool(sent == len(first_day))

    await eventually(first_day_at_the_network, within=30.0)
    clock.advance(DAY + 1)
    wamid_of(await send(hello("79163008888")))
    # Meta raises the account's limit (here the simulated network does); wagate follows its webhook.
    for i in range(249):
        wamid_of(await send(hello(f"7916500{i:04d}")))
    assert code_of(await send(hello("79165009999"))) == 139003
    upgraded = await wagate.client.post(
        "/api/v1/simulator/messaging-tier",
        json={"phone_number_id": str(other.number.id), "tier": "TIER_2K"},
        headers=headers,
    )
    assert upgraded.status_code == 200, upgraded.text
    wamid_of(await send(hello("79165009999")))
    number = (await wagate.client.get(f"/v23.0/{other.number.id}", headers=headers)).json()
    assert number["whatsapp_business_manager_messaging_limit"] == "TIER_2K"
    bad = await wagate.client.post(
        "/api/v1/simulator/messaging-tier",
        json={"phone_number_id": str(other.number.id), "tier": "TIER_3"},
        headers=headers,
    )
    assert bad.status_code == 400


async def test_consent_for_every_business_initiated_message_when_the_organization_asks(
    wagate: Wagate,
) -> None:
    await set_policy(wagate, consent_required_for_all=True)
    refused = await wagate.send(hello("79160000021"))
    assert code_of(refused) == 139004
    await wagate.opt_in("79160000021", purpose="utility")
    wamid_of(await wagate.send(hello("79160000021")))
    # Inside the customer's window the message answers them: no separate consent is needed.
    await wagate.customer_writes("79160000022")
    wamid_of(await wagate.send(hello("79160000022")))


async def test_a_template_paused_while_its_message_waits_fails_it(
    wagate: Wagate, clock: SettableClock
) -> None:
    hold_sends(wagate, True)
    wamid = wamid_of(await wagate.send(hello(CUSTOMER)))
    template_id = wagate.rt.db.read_now(
        lambda c: templates_sql.template_by_name(c, int(wagate.waba_id), "hello_world", "en_US")
    )
    assert template_id is not None
    await template_service.do_set_template_status(wagate.rt, template_id.id, "PAUSED")
    hold_sends(wagate, False)
    clock.advance(3600)
    failed = await ends(wagate, wamid, "failed")
    assert failed["error"]["code"] == 132015
    assert code_of(await wagate.send(hello(CUSTOMER))) == 132015


async def test_quality_drops_with_failures_and_opt_outs_and_recovers(
    wagate: Wagate, clock: SettableClock, caplog: pytest.LogCaptureFixture
) -> None:
    async def rating() -> str:
        found = (await wagate.client.get(f"/v23.0/{wagate.phone_number_id}")).json()
        return str(found["quality_rating"])

    async def send_all(recipients: list[str]) -> None:
        sent = [wamid_of(await wagate.send(hello(to))) for to in recipients]
        for wamid in sent:
            await ends(wagate, wamid, "read", "failed")

    assert await rating() == "GREEN"
    # 20 customers, and 4 numbers that are not on WhatsApp (their sends fail with 131026).
    await send_all([f"7916400{i:04d}" for i in range(1, 21)] + [f"791640{i}0000" for i in range(1, 5)])
    assert await do_update_quality(wagate.rt) == []  # 4 signals are too few to judge
    await send_all(["79164060000"])
    with caplog.at_level(logging.WARNING, logger="wagate.services.quality"):
        [yellow] = await do_update_quality(wagate.rt)
    assert (yellow.previous, yellow.current) == ("GREEN", "YELLOW")
    assert yellow.signals == QualitySignals(sent=25, failures=5, opt_outs=0)
    assert any("quality dropped from GREEN to YELLOW" in r.getMessage() for r in caplog.records)
    assert await rating() == "YELLOW"
    # Opt-outs count too.
    for i in range(1, 6):
        await wagate.customer_writes(f"7916400{i:04d}", text="STOP")
    [red] = await do_update_quality(wagate.rt)
    assert red.current == "RED" and red.signals.opt_outs == 5
    quality_events = wagate.rt.db.read_now(
        lambda c: c.execute(
            select(events.c.payload, events.c.field, events.c.meta_value)
            .where(events.c.type == "account.quality")
            .order_by(events.c.id)
        ).all()
    )
    assert [
        json.loads(opened(wagate.rt.db, events.c.payload, e.payload))["current"] for e in quality_events
    ] == ["YELLOW", "RED"]
    assert {e.field for e in quality_events} == {"phone_number_quality_update"}
    last = opened(wagate.rt.db, events.c.meta_value, quality_events[-1].meta_value)
    assert json.loads(last)["event"] == "DOWNGRADE"
    metrics = (await wagate.client.get("/metrics")).text
    assert 'wagate_quality_drops_total{level="RED"} 1.0' in metrics
    assert "wagate_quality_rating{org_id=" in metrics and "} 2.0" in metrics
    # A week later the signals have aged out.
    clock.advance(8 * DAY)
    [green] = await do_update_quality(wagate.rt)
    assert green.current == "GREEN" and not green.dropped
    assert await rating() == "GREEN"
