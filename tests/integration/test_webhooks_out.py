"""Webhooks to the business, as a business's endpoint sees them and as its code manages them over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from tests import databases
from tests.conftest import Wagate, make_settings, serving
from tests.factories import make_organization
from tests.helpers import eventually, free_port, run_cli
from tests.receiver import Received, Receiver
from wagate.clock import SettableClock
from wagate.cloudapi.signatures import verify_hub_signature, verify_standard_signature
from wagate.crypto.keys import parse_keys
from wagate.domain.tenancy import PhoneNumber
from wagate.ids import new_wamid
from wagate.settings import Settings
from wagate.store import tenancy as tenancy_sql
from wagate.store.db import Database, Job
from wagate.store.event_consumers import ClaimEvents, positions
from wagate.store.events import NewEvent, record_events
from wagate.store.migrate import upgrade
from wagate.store.schema import events, webhook_deliveries
from wagate.store.webhooks import ClaimDeliveries, CreateSubscription, DeliveryOutcome, FanOut

FAST_RETRIES: dict[str, Any] = {
    "allow_private_targets": True,
    "webhook_retry_base": 0.05,
    "webhook_retry_max": 0.2,
    "webhook_timeout": 5.0,
}
HELLO = {
    "messaging_product": "whatsapp",
    "to": "+16505551234",
    "type": "template",
    "template": {"name": "hello_world", "language": {"code": "en_US"}},
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "home", **FAST_RETRIES)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    endpoint = await Receiver().start()
    yield endpoint
    await endpoint.stop()


def fanned_out_up_to(wagate: Wagate) -> int:
    """How many of the events recorded the webhook fan-out has passed (its cursor, in events)."""

    def count(conn: Connection) -> int:
        position = positions(conn).get("webhooks", 0)
        return int(conn.execute(select(func.count()).where(events.c.id <= position)).scalar_one())

    return wagate.rt.db.read_now(count)


# -- events, written as the code that decides them does --------------------------------------------
@dataclass(slots=True)
class RecordEvents(Job[None]):
    new: list[NewEvent]

    def run(self, conn: Connection) -> None:
        record_events(conn, self.new)


def demo_number(w: Wagate) -> PhoneNumber:
    number = w.rt.db.read_now(lambda conn: tenancy_sql.number_by_id(conn, int(w.phone_number_id)))
    assert number is not None
    return number


def status_event(w: Wagate, number: PhoneNumber, status: str = "delivered") -> NewEvent:
    now = w.rt.clock.now()
    wamid = new_wamid()
    return NewEvent(
        org_id=number.org_id,
        type="message.status",
        payload={"message_id": wamid, "recipient": "79161234567", "status": status, "timestamp": now},
        created_at=now,
        phone_number_id=number.id,
        waba_id=number.waba_id,
        field="messages",
        meta_value={
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "74955550100", "phone_number_id": str(number.id)},
            "statuses": [
                {"id": wamid, "status": status, "timestamp": str(int(now)), "recipient_id": "79161234567"}
            ],
        },
    )


def template_event(w: Wagate, org_id: int, waba_id: int) -> NewEvent:
    value = {"event": "APPROVED", "message_template_id": 1, "message_template_name": "hello_world"}
    return NewEvent(
        org_id=org_id,
        type="template.status",
        payload={"field": "message_template_status_update", "value": value},
        created_at=w.rt.clock.now(),
        waba_id=waba_id,
        field="message_template_status_update",
        meta_value=value,
    )


def received_event(w: Wagate, number: PhoneNumber, *, meta: bool = True) -> NewEvent:
    message = {"from": "79161234567", "id": new_wamid(), "type": "text", "text": {"body": "hi"}}
    return NewEvent(
        org_id=number.org_id,
        type="message.received",
        payload={"message_id": message["id"], "from": "79161234567", "type": "text", "message": message},
        created_at=w.rt.clock.now(),
        phone_number_id=number.id,
        waba_id=number.waba_id,
        field="messages" if meta else None,
        meta_value={"messaging_product": "whatsapp", "messages": [message]} if meta else None,
    )


async def record(w: Wagate, *new: NewEvent) -> None:
    await w.rt.db.write(RecordEvents(list(new)))


# -- the business's calls ---------------------------------------------------------------------------
async def subscribe(w: Wagate, url: str, **fields: Any) -> dict[str, Any]:
    response = await w.client.post("/api/v1/webhooks/subscriptions", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def deliveries(w: Wagate, **params: Any) -> list[dict[str, Any]]:
    response = await w.client.get("/api/v1/webhooks/deliveries", params=params)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def posts_to(receiver: Receiver, path: str, count: int) -> list[Received]:
    async def arrived() -> list[Received] | None:
        found = receiver.posts(path)
        return found if len(found) >= count else None

    found: list[Received] = await eventually(arrived)
    return found


async def dead_delivery(w: Wagate, receiver: Receiver, settings: Settings) -> dict[str, Any]:
    """A subscription whose endpoint keeps failing, and its delivery dead after the maximum age."""
    receiver.fail_always("/down", 500)
    sub = await subscribe(w, receiver.url("/down"))
    await record(w, status_event(w, demo_number(w)))
    await posts_to(receiver, "/down", 1)
    w.rt.clock.advance(settings.webhook_max_age + 60)  # type: ignore[attr-defined]

    async def dead() -> list[dict[str, Any]]:
        return await deliveries(w, state="dead", subscription_id=sub["id"])

    found = (await eventually(dead))[0]
    found["subscription"] = sub
    return found


# -- formats ----------------------------------------------------------------------------------------
async def test_wagate_format_is_signed_as_standard_webhooks(wagate: Wagate, receiver: Receiver) -> None:
    sub = await subscribe(wagate, receiver.url("/hooks"))
    assert sub["format"] == "wagate" and sub["secret"].startswith("whsec_")
    assert sub["max_concurrency"] == 4 and sub["phone_number_ids"] is None and sub["event_types"] is None
    listed = (await wagate.client.get("/api/v1/webhooks/subscriptions")).json()["data"]
    assert [s["id"] for s in listed] == [sub["id"]] and "secret" not in listed[0]

    number = demo_number(wagate)
    event = status_event(wagate, number)
    await record(wagate, event)
    (got,) = await posts_to(receiver, "/hooks", 1)

    body = json.loads(got.body)
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-id"] == body["id"] and body["id"].startswith("evt_")
    timestamp = int(got.headers["webhook-timestamp"])
    signature = got.headers["webhook-signature"]
    assert verify_standard_signature(sub["secret"], body["id"], timestamp, got.body, signature)
    assert not verify_standard_signature(sub["secret"], body["id"], timestamp, got.body + b" ", signature)
    assert body == {
        "id": body["id"],
        "type": "message.status",
        "version": 1,
        "created_at": event.created_at,
        "organization_id": number.org_id,
        "phone_number_id": str(number.id),
        "data": event.payload,
    }

    async def delivered() -> list[dict[str, Any]]:
        return await deliveries(wagate, state="delivered")

    (row,) = await eventually(delivered)
    assert row["event_id"] == body["id"] and row["attempts"] == 1 and row["last_status_code"] == 200
    metrics = (await wagate.client.get("/metrics")).text
    assert 'wagate_webhooks_delivered_total{format="wagate"} 1.0' in metrics


async def test_meta_format_answers_the_handshake_then_gets_meta_envelopes(
    wagate: Wagate, receiver: Receiver
) -> None:
    sub = await subscribe(wagate, receiver.url("/meta"), format="meta", verify_token="my-token")
    (handshake,) = receiver.gets("/meta")
    assert handshake.query["hub.mode"] == "subscribe" and handshake.query["hub.verify_token"] == "my-token"
    assert handshake.query["hub.challenge"].isdigit()
    assert len(sub["secret"]) == 32 and int(sub["secret"], 16) >= 0 and sub["verify_token"] == "my-token"

    number = demo_number(wagate)
    status = status_event(wagate, number)
    template = template_event(wagate, number.org_id, number.waba_id)
    # An event with nothing to put in Meta's envelope is not delivered in this format.
    await record(wagate, status, received_event(wagate, number, meta=False), template)
    got = await posts_to(receiver, "/meta", 2)

    by_field = {}
    for request in got:
        assert verify_hub_signature(sub["secret"], request.body, request.headers["x-hub-signature-256"])
        envelope = json.loads(request.body)
        assert envelope["object"] == "whatsapp_business_account"
        (entry,) = envelope["entry"]
        assert entry["id"] == str(number.waba_id)
        (change,) = entry["changes"]
        by_field[change["field"]] = (entry, change["value"])
    messages_entry, messages_value = by_field["messages"]
    assert messages_value == status.meta_value and "time" not in messages_entry
    template_entry, template_value = by_field["message_template_status_update"]
    assert template_value == template.meta_value and template_entry["time"] == int(template.created_at)

    async def fanned_out() -> bool:
        return fanned_out_up_to(wagate) == 3

    await eventually(fanned_out)
    assert len(await deliveries(wagate, subscription_id=sub["id"])) == 2


@pytest.mark.parametrize(("status", "answer"), [(200, "not the challenge"), (403, ""), (500, "{challenge}")])
async def test_meta_handshake_must_answer_the_challenge(
    wagate: Wagate, receiver: Receiver, status: int, answer: str
) -> None:
    receiver.answer_handshake("/bad", status, answer)
    response = await wagate.client.post(
        "/api/v1/webhooks/subscriptions", json={"url": receiver.url("/bad"), "format": "meta"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "webhook_verification_failed"
    assert len(receiver.gets("/bad")) == 1
    assert (await wagate.client.get("/api/v1/webhooks/subscriptions")).json()["data"] == []


async def test_meta_handshake_with_an_endpoint_that_is_down(wagate: Wagate) -> None:
    url = f"http://127.0.0.1:{free_port()}/gone"
    response = await wagate.client.post("/api/v1/webhooks/subscriptions", json={"url": url, "format": "meta"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "webhook_verification_failed"


async def test_statuses_of_a_sent_message_reach_the_business(wagate: Wagate, receiver: Receiver) -> None:
    sub = await subscribe(wagate, receiver.url("/statuses"), event_types=["message.status"])
    sent = await wagate.send(HELLO)
    assert sent.status_code == 200, sent.text
    wamid = sent.json()["messages"][0]["id"]

    async def read_arrived() -> list[dict[str, Any]] | None:
        bodies = [json.loads(r.body) for r in receiver.posts("/statuses")]
        return bodies if any(b["data"]["status"] == "read" for b in bodies) else None

    bodies = await eventually(read_arrived)
    assert {b["type"] for b in bodies} == {"message.status"}
    assert all(b["data"]["message_id"] == wamid for b in bodies)
    assert {"sent", "delivered", "read"} <= {b["data"]["status"] for b in bodies}
    for request in receiver.posts("/statuses"):
        headers = request.headers
        assert verify_standard_signature(
            sub["secret"],
            headers["webhook-id"],
            int(headers["webhook-timestamp"]),
            request.body,
            headers["webhook-signature"],
        )


# -- which events go where --------------------------------------------------------------------------
async def test_subscriptions_filter_by_number_and_event_type(wagate: Wagate, receiver: Receiver) -> None:
    rt = wagate.rt
    number = demo_number(wagate)
    now = rt.clock.now()
    second_waba = await rt.db.write(tenancy_sql.CreateBusinessAccount(number.org_id, "Second", now))
    second = await rt.db.write(
        tenancy_sql.CreatePhoneNumber(
            number.org_id, second_waba, "+7 495 555-01-01", "RU", "Second", "simulator", 80, now
        )
    )
    other = make_organization(rt.db, now)
    filtered = await subscribe(
        wagate,
        receiver.url("/filtered"),
        phone_number_ids=[str(number.id)],
        event_types=["message.status", "template.status"],
    )
    assert filtered["phone_number_ids"] == [str(number.id)]
    await subscribe(wagate, receiver.url("/all"))

    wanted = [status_event(wagate, number), template_event(wagate, number.org_id, number.waba_id)]
    unwanted = [
        status_event(wagate, second),
        received_event(wagate, number),
        template_event(wagate, number.org_id, second_waba),
    ]
    await record(wagate, *wanted, *unwanted, status_event(wagate, other.number))
    everything = await posts_to(receiver, "/all", 5)
    assert {json.loads(r.body)["organization_id"] for r in everything} == {number.org_id}
    got = await posts_to(receiver, "/filtered", 2)
    assert {json.dumps(json.loads(r.body)["data"], sort_keys=True) for r in got} == {
        json.dumps(e.payload, sort_keys=True) for e in wanted
    }
    assert len(await deliveries(wagate, subscription_id=filtered["id"])) == 2


async def test_events_before_a_subscription_are_not_backfilled(wagate: Wagate, receiver: Receiver) -> None:
    number = demo_number(wagate)
    await record(wagate, status_event(wagate, number))

    async def fanned_out() -> bool:
        return fanned_out_up_to(wagate) == 1

    await eventually(fanned_out)
    await subscribe(wagate, receiver.url("/late"))
    later = status_event(wagate, number, "read")
    await record(wagate, later)
    (got,) = await posts_to(receiver, "/late", 1)
    assert json.loads(got.body)["data"] == later.payload
    assert len(await deliveries(wagate)) == 1


# -- delivery: concurrency, retries, dead letters, replay -------------------------------------------
async def test_a_slow_endpoint_does_not_delay_the_others(wagate: Wagate, receiver: Receiver) -> None:
    receiver.hold("/slow")
    try:
        await subscribe(wagate, receiver.url("/slow"), max_concurrency=2)
        await subscribe(wagate, receiver.url("/fast"))
        number = demo_number(wagate)
        await record(wagate, *(status_event(wagate, number) for _ in range(6)))

        fast = await posts_to(receiver, "/fast", 6)
        assert len({json.loads(r.body)["id"] for r in fast}) == 6

        async def slow_full() -> bool:
            return receiver.in_flight["/slow"] == 2

        await eventually(slow_full)
        assert len(receiver.posts("/slow")) == 2  # the others wait for room, not behind the fast ones
    finally:
        receiver.release("/slow")
    slow = await posts_to(receiver, "/slow", 6)
    assert len({json.loads(r.body)["id"] for r in slow}) == 6
    assert receiver.most_in_flight["/slow"] == 2


async def test_failed_attempts_are_retried_until_delivered(wagate: Wagate, receiver: Receiver) -> None:
    receiver.fail("/flaky", 500, 503, 429)
    sub = await subscribe(wagate, receiver.url("/flaky"))
    await record(wagate, status_event(wagate, demo_number(wagate)))
    got = await posts_to(receiver, "/flaky", 4)
    assert len({r.headers["webhook-id"] for r in got}) == 1  # the same event each time

    async def delivered() -> list[dict[str, Any]]:
        return await deliveries(wagate, state="delivered", subscription_id=sub["id"])

    (row,) = await eventually(delivered)
    assert row["attempts"] == 4 and row["last_status_code"] == 200 and row["delivered_at"] is not None
    metrics = (await wagate.client.get("/metrics")).text
    assert 'wagate_webhook_attempts_failed_total{format="wagate"} 3.0' in metrics


async def test_failure_is_recorded_and_the_next_attempt_backs_off(wagate: Wagate, receiver: Receiver) -> None:
    receiver.fail_always("/down", 502)
    await subscribe(wagate, receiver.url("/down"))
    await record(wagate, status_event(wagate, demo_number(wagate)))
    await posts_to(receiver, "/down", 2)
    (row,) = await deliveries(wagate)
    assert row["state"] == "pending" and row["attempts"] >= 2
    assert row["last_status_code"] == 502 and row["last_error"] == "HTTP 502"
    assert row["next_attempt_at"] <= wagate.rt.clock.now() + FAST_RETRIES["webhook_retry_max"]


async def test_a_timeout_is_a_failed_attempt(
    tmp_path: Path, clock: SettableClock, receiver: Receiver
) -> None:
    settings = make_settings(tmp_path / "home", **{**FAST_RETRIES, "webhook_timeout": 0.3})
    receiver.hold("/stuck")
    async with serving(settings, clock) as w:
        await subscribe(w, receiver.url("/stuck"))
        await record(w, status_event(w, demo_number(w)))

        async def timed_out() -> list[dict[str, Any]]:
            return [r for r in await deliveries(w) if r["last_error"]]

        (row,) = await eventually(timed_out)
        assert row["state"] == "pending" and "timed out" in row["last_error"]
        assert row["last_status_code"] is None
        receiver.release("/stuck")


async def test_dead_after_the_maximum_age_then_replayed(
    wagate: Wagate, receiver: Receiver, settings: Settings
) -> None:
    dead = await dead_delivery(wagate, receiver, settings)
    sub = dead["subscription"]
    assert dead["last_status_code"] == 500 and dead["next_attempt_at"] is None
    metrics = (await wagate.client.get("/metrics")).text
    assert 'wagate_webhooks_dead_total{format="wagate"} 1.0' in metrics
    before = len(receiver.posts("/down"))

    receiver.fail_always("/down", None)
    response = await wagate.client.post(
        f"/api/v1/webhooks/subscriptions/{sub['id']}/replay", json={"state": "dead"}
    )
    assert response.status_code == 200 and response.json() == {"replayed": 1}
    got = await posts_to(receiver, "/down", before + 1)
    assert json.loads(got[-1].body)["id"] == dead["event_id"]

    async def delivered() -> list[dict[str, Any]]:
        return await deliveries(wagate, state="delivered")

    await eventually(delivered)
    # One delivery replayed by id, whatever its state: due now, attempts reset.
    response = await wagate.client.post(f"/api/v1/webhooks/deliveries/{dead['id']}/replay")
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "pending" and response.json()["attempts"] == 0
    await posts_to(receiver, "/down", before + 2)
    await eventually(delivered)


async def test_replay_since_a_time(wagate: Wagate, receiver: Receiver) -> None:
    sub = await subscribe(wagate, receiver.url("/since"))
    number = demo_number(wagate)
    await record(wagate, status_event(wagate, number))
    await posts_to(receiver, "/since", 1)
    wagate.rt.clock.advance(3600)  # type: ignore[attr-defined]
    cutoff = wagate.rt.clock.now()
    await record(wagate, status_event(wagate, number, "read"))
    await posts_to(receiver, "/since", 2)

    async def both_delivered() -> bool:
        return len(await deliveries(wagate, state="delivered")) == 2

    await eventually(both_delivered)
    response = await wagate.client.post(
        f"/api/v1/webhooks/subscriptions/{sub['id']}/replay", json={"since": cutoff}
    )
    assert response.json() == {"replayed": 1}
    got = await posts_to(receiver, "/since", 3)
    assert json.loads(got[2].body)["data"]["status"] == "read"


async def test_the_cli_lists_subscriptions_and_replays_dead_deliveries(
    wagate: Wagate, receiver: Receiver, settings: Settings
) -> None:
    dead = await dead_delivery(wagate, receiver, settings)
    receiver.fail_always("/down", None)
    listed = json.loads(await asyncio.to_thread(run_cli, settings.home, "webhooks", "list", "--json"))
    assert [(s["id"], s["url"], s["format"]) for s in listed] == [
        (dead["subscription_id"], receiver.url("/down"), "wagate")
    ]
    assert "secret" not in listed[0]
    before = len(receiver.posts("/down"))
    out = await asyncio.to_thread(run_cli, settings.home, "webhooks", "replay", "--state", "dead")
    assert "1 delivery replayed" in out
    await posts_to(receiver, "/down", before + 1)

    async def delivered() -> list[dict[str, Any]]:
        return await deliveries(wagate, state="delivered")

    await eventually(delivered)


# -- leases -----------------------------------------------------------------------------------------
def test_a_lost_lease_makes_deliveries_claimable_again(tmp_path: Path) -> None:
    """What a crashed sender leaves behind: its claims return when their lease ends."""
    db = Database(databases.database_url(tmp_path), parse_keys(databases.ENCRYPTION_KEYS))
    upgrade(db)
    try:
        now = 1_800_000_000.0
        org = make_organization(db, now)
        sub = db.write_now(
            CreateSubscription(
                org.number.org_id, "https://hooks.example/", "wagate", "whsec_x", None, None, None, 2, now
            )
        )
        new = [
            NewEvent(org.number.org_id, "message.status", {"n": i}, now, phone_number_id=org.number.id)
            for i in range(3)
        ]
        db.write_now(RecordEvents(new))
        claim = db.write_now(ClaimEvents("webhooks", "test", now, now + 5, 100, with_payload=False))
        assert claim is not None and len(claim.new) == 3
        assert db.write_now(FanOut(now, claim.new)).deliveries == 3

        first = db.write_now(ClaimDeliveries(now, now + 40, 10, {}))
        assert [c.attempts for c in first] == [1, 1]  # at most max_concurrency at once
        mine = {sub.id: [c.delivery_id for c in first]}
        assert db.write_now(ClaimDeliveries(now + 1, now + 41, 10, mine)) == []
        # The sender died: nobody knows of its attempts, and after the lease they are claimed again.
        assert db.write_now(ClaimDeliveries(now + 1, now + 41, 10, {}))[0].delivery_id not in mine[sub.id]
        again = db.write_now(ClaimDeliveries(now + 50, now + 90, 10, {}))
        assert {c.delivery_id for c in again} == set(mine[sub.id]) and {c.attempts for c in again} == {2}
        for claimed in again:
            db.write_now(DeliveryOutcome(claimed.delivery_id, "delivered", now + 50, 200, None, now + 50))
        states = db.read_now(
            lambda c: (
                c.execute(select(webhook_deliveries.c.state).order_by(webhook_deliveries.c.id))
                .scalars()
                .all()
            )
        )
        assert states == ["delivered", "delivered", "pending"]
    finally:
        db.stop()


# -- tenancy, validation, addresses -----------------------------------------------------------------
async def test_another_organization_cannot_see_or_replay(
    wagate: Wagate, receiver: Receiver, settings: Settings
) -> None:
    dead = await dead_delivery(wagate, receiver, settings)
    sub_id = dead["subscription_id"]
    other = make_organization(wagate.rt.db, wagate.rt.clock.now())
    headers = {"Authorization": f"Bearer {other.token}"}
    client = wagate.client
    base = "/api/v1/webhooks"
    assert (await client.get(f"{base}/subscriptions", headers=headers)).json()["data"] == []
    assert (await client.get(f"{base}/deliveries", headers=headers)).json()["data"] == []
    assert (
        await client.get(f"{base}/deliveries", params={"subscription_id": sub_id}, headers=headers)
    ).json()["data"] == []
    for response in (
        await client.get(f"{base}/subscriptions/{sub_id}", headers=headers),
        await client.patch(f"{base}/subscriptions/{sub_id}", json={"active": False}, headers=headers),
        await client.delete(f"{base}/subscriptions/{sub_id}", headers=headers),
        await client.post(f"{base}/subscriptions/{sub_id}/replay", json={"state": "dead"}, headers=headers),
        await client.post(f"{base}/deliveries/{dead['id']}/replay", headers=headers),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
    (still,) = await deliveries(wagate, subscription_id=sub_id)
    assert still["state"] == "dead"
    assert (await client.get(f"{base}/subscriptions/{sub_id}")).json()["active"] is True


async def test_subscription_lifecycle(wagate: Wagate, receiver: Receiver) -> None:
    base = "/api/v1/webhooks/subscriptions"
    sub = await subscribe(wagate, receiver.url("/one"), format="meta", event_types=["message.status"])
    assert len(receiver.gets("/one")) == 1
    one = (await wagate.client.get(f"{base}/{sub['id']}")).json()
    assert one["url"] == receiver.url("/one") and "secret" not in one and "verify_token" not in one

    response = await wagate.client.patch(
        f"{base}/{sub['id']}", json={"max_concurrency": 8, "event_types": None, "active": False}
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["max_concurrency"] == 8 and changed["event_types"] is None and changed["active"] is False
    assert len(receiver.gets("/one")) == 1  # the URL did not change: no handshake

    moved = await wagate.client.patch(f"{base}/{sub['id']}", json={"url": receiver.url("/two")})
    assert moved.status_code == 200 and moved.json()["url"] == receiver.url("/two")
    assert receiver.gets("/two")[0].query["hub.verify_token"] == sub["verify_token"]
    receiver.answer_handshake("/three", 200, "no")
    refused = await wagate.client.patch(f"{base}/{sub['id']}", json={"url": receiver.url("/three")})
    assert refused.json()["error"]["code"] == "webhook_verification_failed"
    assert (await wagate.client.get(f"{base}/{sub['id']}")).json()["url"] == receiver.url("/two")

    assert (await wagate.client.delete(f"{base}/{sub['id']}")).status_code == 204
    assert (await wagate.client.get(f"{base}/{sub['id']}")).status_code == 404
    assert (await wagate.client.get(f"{base}/nope")).status_code == 404


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"format": "xml"}, "invalid_format"),
        ({"event_types": ["message.nope"]}, "unknown_event_type"),
        ({"event_types": []}, "invalid_request"),
        ({"phone_number_ids": ["123"]}, "unknown_phone_number"),
        ({"max_concurrency": 0}, "invalid_max_concurrency"),
        ({"secret": "not-base64!"}, "invalid_secret"),
        ({"colour": "blue"}, "invalid_request"),
        ({"url": "ftp://example.com/hooks"}, "unsafe_target"),
        ({"verify_token": "t"}, "invalid_request"),
    ],
)
async def test_invalid_subscriptions_are_refused(
    wagate: Wagate, receiver: Receiver, fields: dict[str, Any], code: str
) -> None:
    response = await wagate.client.post(
        "/api/v1/webhooks/subscriptions", json={"url": receiver.url("/x"), **fields}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code
    assert (await wagate.client.get("/api/v1/webhooks/subscriptions")).json()["data"] == []
    assert receiver.requests == []


async def test_a_number_of_another_organization_is_refused(wagate: Wagate, receiver: Receiver) -> None:
    other = make_organization(wagate.rt.db, wagate.rt.clock.now())
    response = await wagate.client.post(
        "/api/v1/webhooks/subscriptions",
        json={"url": receiver.url("/x"), "phone_number_ids": [str(other.number.id)]},
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_phone_number"


@pytest.mark.parametrize("target", ["127.0.0.1:{port}", "10.0.0.1", "169.254.169.254", "localhost:{port}"])
@pytest.mark.parametrize("format", ["wagate", "meta"])
async def test_private_targets_are_refused(
    tmp_path: Path, clock: SettableClock, receiver: Receiver, target: str, format: str
) -> None:
    settings = make_settings(tmp_path / "home", **{**FAST_RETRIES, "allow_private_targets": False})
    url = "http://" + target.format(port=receiver.port) + "/latest/meta-data/"
    async with serving(settings, clock) as w:
        response = await w.client.post("/api/v1/webhooks/subscriptions", json={"url": url, "format": format})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "unsafe_target"
        assert (await w.client.get("/api/v1/webhooks/subscriptions")).json()["data"] == []
    assert receiver.requests == []


async def test_a_name_of_a_private_address_is_refused_when_delivering(
    tmp_path: Path, clock: SettableClock, receiver: Receiver
) -> None:
    """A name checked when the subscription was made may point elsewhere later: each connection is checked."""
    settings = make_settings(tmp_path / "home", **{**FAST_RETRIES, "allow_private_targets": False})
    async with serving(settings, clock) as w:
        number = demo_number(w)
        url = f"http://localhost:{receiver.port}/rebound"
        await w.rt.db.write(
            CreateSubscription(
                number.org_id, url, "wagate", "whsec_" + "A" * 44, None, None, None, 4, clock.now()
            )
        )
        await record(w, status_event(w, number))

        async def refused() -> list[dict[str, Any]]:
            return [r for r in await deliveries(w) if r["last_error"]]

        (row,) = await eventually(refused)
        assert "not a public address" in row["last_error"] and row["state"] == "pending"
    assert receiver.requests == []


async def test_deliveries_page_newest_first(wagate: Wagate, receiver: Receiver) -> None:
    await subscribe(wagate, receiver.url("/pages"))
    number = demo_number(wagate)
    await record(wagate, *(status_event(wagate, number) for _ in range(5)))
    await posts_to(receiver, "/pages", 5)
    first = (await wagate.client.get("/api/v1/webhooks/deliveries", params={"limit": 3})).json()
    ids = [d["id"] for d in first["data"]]
    assert ids == sorted(ids, reverse=True) and first["next_cursor"] == str(ids[-1])
    rest = (
        await wagate.client.get(
            "/api/v1/webhooks/deliveries", params={"limit": 3, "cursor": first["next_cursor"]}
        )
    ).json()
    assert len(rest["data"]) == 2 and rest["next_cursor"] is None
    assert all(d["id"] < ids[-1] for d in rest["data"])
    bad = await wagate.client.get("/api/v1/webhooks/deliveries", params={"state": "lost"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_state"
    bad = await wagate.client.get("/api/v1/webhooks/deliveries", params={"limit": "lots"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_parameter"


async def test_meta_format_can_batch_events_for_receivers_that_take_batches(
    wagate: Wagate, receiver: Receiver
) -> None:
    sub = await subscribe(wagate, receiver.url("/batched"), format="meta", batch_size=50, max_concurrency=1)
    assert sub["batch_size"] == 50
    number = demo_number(wagate)
    statuses = [status_event(wagate, number) for _ in range(120)]
    await record(wagate, *statuses)

    async def all_delivered() -> bool:
        return len(await deliveries(wagate, state="delivered", subscription_id=sub["id"], limit=200)) == 120

    await eventually(all_delivered)
    posts = receiver.posts("/batched")
    assert len(posts) < 120  # events shared POSTs
    delivered = []
    for request in posts:
        assert verify_hub_signature(sub["secret"], request.body, request.headers["x-hub-signature-256"])
        entries = json.loads(request.body)["entry"]
        assert 1 <= len(entries) <= 50
        delivered.extend(entry["changes"][0]["value"]["statuses"][0]["id"] for entry in entries)
    assert sorted(delivered) == sorted(s.meta_value["statuses"][0]["id"] for s in statuses)  # type: ignore[index]


async def test_batches_are_for_the_meta_format_only(wagate: Wagate, receiver: Receiver) -> None:
    refused = await wagate.client.post(
        "/api/v1/webhooks/subscriptions",
        json={"url": receiver.url("/x"), "format": "wagate", "batch_size": 10},
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_batch_size"
    too_big = await wagate.client.post(
        "/api/v1/webhooks/subscriptions",
        json={"url": receiver.url("/x"), "format": "meta", "batch_size": 1001},
    )
    assert too_big.status_code == 400 and too_big.json()["error"]["code"] == "invalid_batch_size"


async def test_an_endpoint_down_for_an_hour_gets_everything_after_and_delays_nobody(
    tmp_path: Path, receiver: Receiver
) -> None:
    """The business's endpoint is down for a (simulated) hour while events keep coming; another
    endpoint gets each of them at once meanwhile; when the first is back, every event arrives, once."""
    settings = make_settings(
        tmp_path / "home", **{**FAST_RETRIES, "webhook_retry_base": 5.0, "webhook_retry_max": 300.0}
    )
    async with serving(settings, SettableClock(ticking=True)) as w:
        receiver.fail_always("/down", 503)
        down = await subscribe(w, receiver.url("/down"))
        up = await subscribe(w, receiver.url("/up"))
        number = demo_number(w)
        sent: list[str] = []
        for _ in range(12):  # an event every five minutes for an hour
            event = status_event(w, number)
            await record(w, event)
            sent.append(event.meta_value["statuses"][0]["id"])  # type: ignore[index]
            await posts_to(receiver, "/up", len(sent))  # the healthy endpoint is not held back
            w.rt.clock.advance(300)  # type: ignore[attr-defined]
        assert len(receiver.posts("/down")) >= len(sent)  # attempted, and failing
        assert not await deliveries(w, state="delivered", subscription_id=down["id"])
        receiver.fail_always("/down", None)  # back after the hour
        w.rt.clock.advance(301)  # type: ignore[attr-defined]
        # An attempt already on its way when the endpoint came back fails and is retried up to 5 minutes
        # later: let (simulated) time pass in 5-minute steps, a bounded number of them.
        steps = 0

        async def all_delivered() -> bool:
            nonlocal steps
            delivered = await deliveries(w, state="delivered", subscription_id=down["id"], limit=100)
            if len(delivered) < len(sent) and steps < 12:
                steps += 1
                w.rt.clock.advance(301)  # type: ignore[attr-defined]
            return len(delivered) == len(sent)

        await eventually(all_delivered)
        ok = await deliveries(w, state="delivered", subscription_id=down["id"], limit=100)
        at_up = await deliveries(w, state="delivered", subscription_id=up["id"], limit=100)
        assert sorted(d["event_id"] for d in ok) == sorted(d["event_id"] for d in at_up)  # each event, once
        posted = [json.loads(p.body)["id"] for p in receiver.posts("/down")]
        assert set(posted) == {d["event_id"] for d in ok}  # retries carried the same event ids
