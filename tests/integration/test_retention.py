"""Retention per organization: the periods over HTTP and the CLI, and the worker deleting what is past."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests import databases
from tests.conftest import Wagate, make_settings, serving
from tests.factories import OtherOrganization, make_organization, make_sent_messages
from tests.helpers import eventually, run_cli
from tests.receiver import Receiver
from wagate.clock import SettableClock
from wagate.services.runtime import Role
from wagate.store.schema import consents, events, media, messages
from wagate.store.tenancy import org_by_slug
from wagate.web.app import build_runtime, running

DAY = 86400.0
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
NEVER = 3650 * DAY  # queued messages in these tests never expire on their own


@pytest.fixture
async def shop(tmp_path: Path, clock: SettableClock) -> AsyncIterator[Wagate]:
    settings = make_settings(tmp_path / "home", ttl_class1=NEVER, ttl_class2=NEVER, ttl_class3=NEVER)
    async with serving(settings, clock) as running:
        yield running


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def upload(w: Wagate, number_id: str, data: bytes, token: str | None = None) -> str:
    response = await w.client.post(
        f"/v23.0/{number_id}/media",
        data={"messaging_product": "whatsapp", "type": "image/png"},
        files={"file": ("photo.png", data, "image/png")},
        headers={} if token is None else auth(token),
    )
    assert response.status_code == 200, response.text
    media_id: str = response.json()["id"]
    return media_id


def file_of(w: Wagate, media_id: str) -> Path:
    """Where the media's file is (or was) kept."""
    key = w.rt.db.read_now(
        lambda c: c.execute(select(media.c.storage_key).where(media.c.id == int(media_id)))
    )
    return w.rt.settings.home / "media" / str(key.scalar_one())


async def customer_writes(w: Wagate, wa_id: str, text: str, **kwargs: Any) -> str:
    """A customer writes; returns wagate's id of the inbound message (found in the conversation)."""
    await w.customer_writes(wa_id, text, **kwargs)
    headers = {} if "token" not in kwargs else auth(kwargs["token"])
    for conversation in (await w.client.get("/api/v1/conversations", headers=headers)).json()["data"]:
        listed = await w.client.get(f"/api/v1/conversations/{conversation['id']}/messages", headers=headers)
        for message in listed.json()["data"]:
            if text in json.dumps(message):
                wamid: str = message["id"]
                return wamid
    raise AssertionError(f"no message {text!r}")


async def status_of(w: Wagate, wamid: str, token: str | None = None) -> int:
    headers = {} if token is None else auth(token)
    return (await w.client.get(f"/api/v1/messages/{wamid}", headers=headers)).status_code


async def reply(w: Wagate, to: str, text: str) -> str:
    response = await w.send(
        {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": text}}
    )
    assert response.status_code == 200, response.text
    wamid: str = response.json()["messages"][0]["id"]
    return wamid


async def hello(w: Wagate, to: str) -> str:
    """The demo's `hello_world` template: it needs no open window, so it may wait in the queue for days."""
    template = {"name": "hello_world", "language": {"code": "en_US"}}
    response = await w.send(
        {"messaging_product": "whatsapp", "to": to, "type": "template", "template": template}
    )
    assert response.status_code == 200, response.text
    wamid: str = response.json()["messages"][0]["id"]
    return wamid


async def runs(w: Wagate, token: str | None = None) -> list[dict[str, Any]]:
    response = await w.client.get("/api/v1/retention/runs", headers={} if token is None else auth(token))
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def total(found: list[dict[str, Any]], kind: str) -> int:
    return sum(int(run["counts"][kind]) for run in found)


# -- the periods ------------------------------------------------------------------------------------
async def test_periods_default_to_forever_and_the_deployment_media_retention(wagate: Wagate) -> None:
    body = (await wagate.client.get("/api/v1/retention")).json()
    assert body["message_retention_days"] is None and body["media_retention_days"] is None
    assert body["effective"] == {
        "message_retention_days": None,
        "media_retention_days": wagate.rt.settings.media_retention / DAY,
    }


async def test_periods_are_changed_checked_and_reset(wagate: Wagate) -> None:
    changed = await wagate.client.patch("/api/v1/retention", json={"message_retention_days": 90})
    assert changed.status_code == 200, changed.text
    assert changed.json()["message_retention_days"] == 90 and changed.json()["media_retention_days"] is None
    for bad in (
        {"message_retention_days": 0},
        {"message_retention_days": 3651},
        {"media_retention_days": "7"},
        {"media_retention_days": 1.5},
        {"message_retention_days": True},
        {"keep": 3},
    ):
        refused = await wagate.client.patch("/api/v1/retention", json=bad)
        assert refused.status_code == 400, bad
        assert refused.json()["error"]["code"] == "invalid_request"
    refused = await wagate.client.patch("/api/v1/retention", content=b"[1]")
    assert refused.status_code == 400
    assert (await wagate.client.get("/api/v1/retention")).json()["message_retention_days"] == 90
    both = await wagate.client.patch(
        "/api/v1/retention", json={"message_retention_days": 3650, "media_retention_days": 1}
    )
    assert both.json()["effective"] == {"message_retention_days": 3650, "media_retention_days": 1}
    reset = await wagate.client.patch("/api/v1/retention", json={"message_retention_days": None})
    assert reset.json()["message_retention_days"] is None and reset.json()["media_retention_days"] == 1
    audit = json.dumps((await wagate.client.get("/api/v1/audit")).json())
    assert audit.count("retention.update") == 3  # the refused changes left no entry


async def test_periods_are_per_organization(wagate: Wagate, clock: SettableClock) -> None:
    other = make_organization(wagate.rt.db, clock.now())
    await wagate.client.patch("/api/v1/retention", json={"message_retention_days": 7})
    theirs = (await wagate.client.get("/api/v1/retention", headers=auth(other.token))).json()
    assert theirs["message_retention_days"] is None
    assert (await wagate.client.get("/api/v1/retention")).json()["message_retention_days"] == 7


async def test_the_cli_shows_and_sets_the_periods(wagate: Wagate) -> None:
    home = wagate.rt.settings.home
    shown = json.loads(run_cli(home, "retention", "show", "--org", "demo"))
    assert shown["message_retention_days"] is None
    changed = json.loads(
        run_cli(home, "retention", "set", "--org", "demo", "--messages-days", "30", "--media-days", "5")
    )
    assert changed["message_retention_days"] == 30 and changed["media_retention_days"] == 5
    assert (await wagate.client.get("/api/v1/retention")).json()["media_retention_days"] == 5
    with pytest.raises(AssertionError, match="from 1 to 3650"):
        run_cli(home, "retention", "set", "--org", "demo", "--messages-days", "0")
    with pytest.raises(AssertionError, match="no organization"):
        run_cli(home, "retention", "show", "--org", "nobody")
    assert json.loads(run_cli(home, "retention", "show", "--org", "demo"))["message_retention_days"] == 30


# -- the worker -------------------------------------------------------------------------------------
async def test_the_worker_deletes_what_is_past_the_periods_and_nothing_else(
    shop: Wagate, clock: SettableClock
) -> None:
    w = shop
    other: OtherOrganization = make_organization(w.rt.db, clock.now())
    other_number = str(other.number.id)
    await w.opt_in("79161234567", purpose="marketing")
    consents_before = count(w, consents)
    # Day 0: a conversation and media in both organizations.
    first_in = await customer_writes(w, "79161234567", "Hi, day 0")
    first_out = await reply(w, "79161234567", "Hello!")
    theirs_in = await customer_writes(w, "79261234567", "Hi", phone_number_id=other_number, token=other.token)
    own_media = await upload(w, w.phone_number_id, PNG + b"own")
    their_media = await upload(w, other_number, PNG + b"theirs", other.token)
    assert file_of(w, own_media).exists() and file_of(w, their_media).exists()
    await eventually(lambda: _delivered(w, first_out))
    changed = await w.client.patch(
        "/api/v1/retention", json={"message_retention_days": 30, "media_retention_days": 10}
    )
    assert changed.status_code == 200

    # Day 11: media past 10 days go, with their file; messages (30 days) and the other's media stay.
    clock.advance(11 * DAY)

    async def own_media_gone() -> bool:
        # The row goes in one commit, and its file right after that commit.
        row_gone = (await w.client.get(f"/v23.0/{own_media}")).status_code == 400
        return row_gone and not file_of(w, own_media).exists()

    await eventually(own_media_gone)
    assert file_of(w, their_media).exists()
    assert (await w.client.get(f"/v23.0/{their_media}", headers=auth(other.token))).status_code == 200
    assert await status_of(w, first_in) == 200 and await status_of(w, first_out) == 200

    # A newer message, and one that stays queued: the network refuses every send for now.
    newer_in = await customer_writes(w, "79161234567", "Hi, day 11")
    faults = await w.client.put("/api/v1/simulator/faults", json={"server_error": 1.0})
    assert faults.status_code == 200
    queued = await hello(w, "79161234567")
    assert "delivery" in await w.message(queued)

    # Day 31: the day-0 messages are past 30 days.
    clock.advance(20 * DAY)

    async def old_messages_gone() -> bool:
        return await status_of(w, first_in) == 404 and await status_of(w, first_out) == 404

    await eventually(old_messages_gone)
    assert await status_of(w, newer_in) == 200
    still = await w.message(queued)
    assert still["status"] == "accepted" and "delivery" in still
    assert await status_of(w, theirs_in, other.token) == 200
    assert count(w, consents) == consents_before  # consent records prove consent: never deleted

    found = await runs(w)
    assert total(found, "messages") == 2 and total(found, "media") == 1
    assert total(found, "statuses") >= 3  # the reply was sent and delivered, at least
    assert total(found, "events") >= 2

    # The other organization set nothing: its messages stay, its media go after the default 30 days.
    async def their_media_gone() -> list[dict[str, Any]] | None:
        found = await runs(w, other.token)
        return found if total(found, "media") else None

    theirs = await eventually(their_media_gone)
    assert total(theirs, "media") == 1 and total(theirs, "messages") == total(theirs, "events") == 0
    assert count(w, events, other.number.org_id) >= 1


async def test_a_message_whose_send_is_in_doubt_is_kept(shop: Wagate, clock: SettableClock) -> None:
    w = shop
    await w.customer_writes("79161234567")
    await w.client.put("/api/v1/simulator/faults", json={"lost": 1.0})
    in_doubt = await hello(w, "79161234567")
    await w.client.patch("/api/v1/retention", json={"message_retention_days": 1})
    clock.advance(2 * DAY)

    async def customer_message_gone() -> bool:
        found = await runs(w)
        return bool(found) and total(found, "messages") >= 1

    await eventually(customer_message_gone)
    assert "delivery" in await w.message(in_doubt)


async def _delivered(w: Wagate, wamid: str) -> bool:
    return (await w.message(wamid))["status"] in ("delivered", "read")


def count(w: Wagate, table: Any, org_id: int | None = None) -> int:
    stmt = select(func.count()).select_from(table)
    if org_id is not None:
        stmt = stmt.where(table.c.org_id == org_id)
    return int(w.rt.db.read_now(lambda c: c.execute(stmt).scalar_one()))


@pytest.mark.skipif(not databases.on_postgresql(), reason="two worker processes need PostgreSQL")
async def test_two_worker_processes_delete_each_row_once(shop: Wagate, clock: SettableClock) -> None:
    w = shop
    demo = w.rt.db.read_now(lambda c: org_by_slug(c, "demo"))
    assert demo is not None
    make_sent_messages(w.rt.db, demo.id, int(w.phone_number_id), 1200, clock.now())
    await w.client.patch("/api/v1/retention", json={"message_retention_days": 1})
    second = build_runtime(w.rt.settings, clock, role=Role.WORKER)
    async with running(second):
        clock.advance(2 * DAY)

        async def all_deleted() -> list[dict[str, Any]] | None:
            found = await runs(w)
            return found if total(found, "messages") >= 1200 else None

        found = await eventually(all_deleted, within=30)
    assert total(found, "messages") == 1200 and total(found, "statuses") == 1200
    assert count(w, messages, demo.id) == 0


# -- erasure of a contact ---------------------------------------------------------------------------
async def test_erasing_a_contact_removes_its_media_files_events_and_deliveries(
    tmp_path: Path, clock: SettableClock
) -> None:
    receiver = await Receiver().start()
    try:
        async with serving(make_settings(tmp_path / "home", allow_private_targets=True), clock) as w:
            created = await w.client.post(
                "/api/v1/webhooks/subscriptions", json={"url": receiver.url("/hook")}
            )
            assert created.status_code == 201, created.text
            photo = {"phone_number_id": w.phone_number_id, "from": "+79161234567", "type": "image"}
            assert (await w.client.post("/api/v1/simulator/messages", json=photo)).status_code == 201
            await w.customer_writes("79261234567", "someone else")
            media_id = await eventually(lambda: _downloaded_media(w))
            await eventually(lambda: _delivered_all(w, 2))
            contact = (await w.client.get("/api/v1/contacts", params={"q": "79161234567"})).json()["data"][0]
            others_events = count(w, events) - 1

            erased = await w.client.delete(f"/api/v1/contacts/{contact['id']}")

            assert erased.status_code == 200, erased.text
            body = erased.json()
            assert body["media"] == 1 and body["events"] == 1 and body["deliveries"] == 1
            assert not file_of(w, media_id).exists()
            assert count(w, events) == others_events
            assert len((await w.client.get("/api/v1/webhooks/deliveries")).json()["data"]) == 1
            record = (await w.client.get("/api/v1/erasures")).json()["data"]
            assert [(r["wa_id"], r["counts"]["messages"], r["counts"]["media"]) for r in record] == [
                ("79161234567", 1, 1)
            ]
            other = make_organization(w.rt.db, clock.now())
            assert (await w.client.get("/api/v1/erasures", headers=auth(other.token))).json()["data"] == []
    finally:
        await receiver.stop()


async def _downloaded_media(w: Wagate) -> str | None:
    rows = w.rt.db.read_now(lambda c: c.execute(select(media.c.id, media.c.storage_key)).all())
    stored = [str(r.id) for r in rows if r.storage_key]
    return stored[0] if stored else None


async def _delivered_all(w: Wagate, expected: int) -> bool:
    deliveries = (await w.client.get("/api/v1/webhooks/deliveries")).json()["data"]
    return len(deliveries) == expected and all(d["state"] == "delivered" for d in deliveries)
