"""A template's life after creation, as a business sees it on Meta's surface: deletion and name reuse,
edit and creation limits, quality ratings and pauses, Meta's template webhooks for `cloud` accounts."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests import databases
from tests.conftest import Wagate, make_settings, serving
from tests.fake_meta import cloud_account, fake_meta_server, meta_account
from tests.helpers import eventually, opened, run_cli
from wagate.clock import SettableClock
from wagate.services import templates as template_service
from wagate.services.ingest import ingest
from wagate.services.template_sync import AccountSync, do_sync_templates
from wagate.store.db import Database
from wagate.store.migrate import upgrade
from wagate.store.schema import events
from wagate.upstreams.cloud import CloudUpstream

HOUR = 3600.0
DAY = 24 * HOUR

ORDER_READY: dict[str, Any] = {
    "name": "order_ready",
    "language": "en_US",
    "category": "UTILITY",
    "components": [{"type": "BODY", "text": "Your order is ready for pickup at the counter today."}],
}


@pytest.fixture
def clock() -> SettableClock:
    """A clock that stands still: reviews, pauses and deletions end only when a test moves it."""
    return SettableClock()


def _path(wagate: Wagate) -> str:
    return f"/v23.0/{wagate.waba_id}/message_templates"


async def _create(wagate: Wagate, **changes: Any) -> httpx.Response:
    return await wagate.client.post(_path(wagate), json={**ORDER_READY, **changes})


async def _approved(wagate: Wagate, **changes: Any) -> str:
    created = await _create(wagate, **changes)
    assert created.status_code == 200, created.text
    template_id = str(created.json()["id"])
    assert await template_service.do_set_template_status(wagate.rt, int(template_id), "APPROVED")
    return template_id


async def _template(wagate: Wagate, template_id: str) -> dict[str, Any]:
    response = await wagate.client.get(f"/v23.0/{template_id}")
    body: dict[str, Any] = response.json()
    return body


def _error(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


async def _send(wagate: Wagate, language: str = "en_US") -> httpx.Response:
    return await wagate.send(
        {
            "messaging_product": "whatsapp",
            "to": "+79161230001",
            "type": "template",
            "template": {"name": "order_ready", "language": {"code": language}},
        }
    )


def _status_events(wagate: Wagate) -> list[dict[str, Any]]:
    rows = wagate.rt.db.read_now(
        lambda conn: conn.execute(
            select(events.c.meta_value).where(events.c.type == "template.status").order_by(events.c.id)
        ).all()
    )
    return [json.loads(opened(wagate.rt.db, events.c.meta_value, r.meta_value)) for r in rows]


# -- deletion ---------------------------------------------------------------------------------------
async def test_deleting_an_approved_template_holds_its_name_for_30_days(
    wagate: Wagate, clock: SettableClock
) -> None:
    approved = await _approved(wagate)
    pending = (await _create(wagate, language="es")).json()["id"]
    assert (await _send(wagate)).status_code == 200

    deleted = await wagate.client.delete(_path(wagate), params={"name": "order_ready"})
    assert deleted.json() == {"success": True}
    assert (await _template(wagate, approved))["status"] == "PENDING_DELETION"
    assert (await wagate.client.get(f"/v23.0/{pending}")).status_code == 400  # never approved: gone
    refused = await _send(wagate)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == 132001
    held = _error(await _create(wagate, language="fr"))
    assert held["code"] == 100 and held["error_data"]["details"].startswith("name: order_ready was deleted")
    again = _error(await wagate.client.delete(_path(wagate), params={"name": "order_ready"}))
    assert again["code"] == 100

    clock.advance(30 * DAY - 1)
    assert _error(await _create(wagate))["code"] == 100
    clock.advance(1)

    async def gone() -> bool:
        return (await wagate.client.get(f"/v23.0/{approved}")).status_code == 400

    await eventually(gone)
    assert (await _create(wagate)).status_code == 200
    mine = [e for e in _status_events(wagate) if e["message_template_id"] == int(approved)]
    assert [e["event"] for e in mine] == ["APPROVED", "PENDING_DELETION", "DELETED"]
    assert [e["event"] for e in _status_events(wagate) if e["message_template_id"] == int(pending)] == [
        "DELETED"
    ]


async def test_a_held_name_is_free_after_30_days_whether_or_not_the_worker_ran(
    wagate: Wagate, clock: SettableClock
) -> None:
    approved = await _approved(wagate)
    await wagate.client.delete(_path(wagate), params={"name": "order_ready", "hsm_id": approved})
    clock.advance(30 * DAY)
    created = await _create(wagate)
    assert created.status_code == 200, created.text
    assert created.json()["id"] != approved
    assert (await wagate.client.get(f"/v23.0/{approved}")).status_code == 400


async def test_deleting_one_language_by_hsm_id_and_a_disabled_template(wagate: Wagate) -> None:
    english = await _approved(wagate)
    spanish = await _approved(wagate, language="es")
    one = await wagate.client.delete(_path(wagate), params={"name": "order_ready", "hsm_id": spanish})
    assert one.json() == {"success": True}
    assert (await _template(wagate, spanish))["status"] == "PENDING_DELETION"
    assert (await _template(wagate, english))["status"] == "APPROVED"
    assert (await _send(wagate)).status_code == 200

    await template_service.do_set_template_status(wagate.rt, int(english), "DISABLED")
    refused = _error(await wagate.client.delete(_path(wagate), params={"name": "order_ready"}))
    assert refused["error_data"]["details"] == "name: order_ready in en_US is DISABLED; it cannot be deleted"
    assert (await _template(wagate, english))["status"] == "DISABLED"


# -- creation and edit limits -----------------------------------------------------------------------
async def test_at_most_100_templates_are_created_per_hour(wagate: Wagate, clock: SettableClock) -> None:
    for i in range(100):
        created = await _create(wagate, name=f"order_ready_{i}")
        assert created.status_code == 200, created.text
        if i == 0:  # a deleted creation still counts
            await wagate.client.delete(_path(wagate), params={"name": "order_ready_0"})
    over = _error(await _create(wagate, name="order_ready_100"))
    assert over["code"] == 80007
    assert over["error_data"]["details"].startswith("message_templates: at most 100")
    clock.advance(HOUR)
    assert (await _create(wagate, name="order_ready_100")).status_code == 200


async def test_an_approved_template_is_edited_once_a_day_and_ten_times_a_month(
    wagate: Wagate, clock: SettableClock
) -> None:
    template_id = await _approved(wagate)

    async def edit(n: int) -> httpx.Response:
        text = f"Your order number {n} is ready for pickup at the counter today."
        return await wagate.client.post(
            f"/v23.0/{template_id}", json={"components": [{"type": "BODY", "text": text}]}
        )

    for n in range(10):
        edited = await edit(n)
        assert edited.json() == {"success": True}, edited.text
        assert (await _template(wagate, template_id))["status"] == "PENDING"  # back to review
        assert await template_service.do_set_template_status(wagate.rt, int(template_id), "APPROVED")
        if n == 0:
            too_soon = _error(await edit(99))
            assert too_soon["code"] == 100 and "once in 24 hours" in too_soon["error_data"]["details"]
        clock.advance(DAY + 1)
    eleventh = _error(await edit(10))
    assert "10 times in 30 days" in eleventh["error_data"]["details"]
    clock.advance(30 * DAY - 10 * (DAY + 1) + 1)  # the first edit is now more than 30 days old
    assert (await edit(11)).json() == {"success": True}

    # Rejected templates may be edited without limit.
    await template_service.do_set_template_status(wagate.rt, int(template_id), "REJECTED", "INVALID_FORMAT")
    for n in range(3):
        assert (await edit(20 + n)).json() == {"success": True}
        await template_service.do_set_template_status(
            wagate.rt, int(template_id), "REJECTED", "INVALID_FORMAT"
        )


# -- quality and pauses -----------------------------------------------------------------------------
async def _rate(wagate: Wagate, template_id: str, score: str) -> dict[str, Any]:
    response = await wagate.client.post(
        f"/api/v1/simulator/templates/{template_id}/quality", json={"score": score}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _status_becomes(wagate: Wagate, template_id: str, status: str) -> None:
    async def reached() -> bool:
        return (await _template(wagate, template_id))["status"] == status

    await eventually(reached)


async def _sendable(wagate: Wagate) -> None:
    """Sends are accepted again: the worker that ended a pause has also cleared the sending cache."""

    async def accepted() -> bool:
        return (await _send(wagate)).status_code == 200

    await eventually(accepted)


async def test_red_pauses_three_hours_then_six_then_disables(
    wagate: Wagate, clock: SettableClock, caplog: pytest.LogCaptureFixture
) -> None:
    template_id = await _approved(wagate)
    assert (await _rate(wagate, template_id, "YELLOW"))["status"] == "APPROVED"
    with caplog.at_level(logging.WARNING, logger="wagate.services.template_lifecycle"):
        first = await _rate(wagate, template_id, "RED")
    assert first["status"] == "PAUSED" and first["paused_until"] == clock.now() + 3 * HOUR
    assert any("is PAUSED (FIRST_PAUSE)" in r.getMessage() for r in caplog.records)
    assert (await _template(wagate, template_id))["quality_score"]["score"] == "RED"
    paused = await _send(wagate)
    assert paused.status_code == 400 and paused.json()["error"]["code"] == 132015

    clock.advance(3 * HOUR - 1)
    assert (await _template(wagate, template_id))["status"] == "PAUSED"
    clock.advance(1)
    await _status_becomes(wagate, template_id, "APPROVED")
    await _sendable(wagate)

    assert (await _rate(wagate, template_id, "RED"))["status"] == "PAUSED"
    clock.advance(3 * HOUR)
    assert (await _template(wagate, template_id))["status"] == "PAUSED"
    clock.advance(3 * HOUR)
    await _status_becomes(wagate, template_id, "APPROVED")

    assert (await _rate(wagate, template_id, "RED"))["status"] == "DISABLED"
    disabled = await _send(wagate)
    assert disabled.status_code == 400 and disabled.json()["error"]["code"] == 132016
    clock.advance(30 * DAY)
    assert (await _template(wagate, template_id))["status"] == "DISABLED"

    metrics = wagate.rt.metrics.render().decode()
    assert 'wagate_templates_paused_total{status="paused"} 2.0' in metrics
    assert 'wagate_templates_paused_total{status="disabled"} 1.0' in metrics
    changes = [e for e in _status_events(wagate) if e["message_template_id"] == int(template_id)]
    assert [(e["event"], e.get("other_info", {}).get("title")) for e in changes] == [
        ("APPROVED", None),
        ("PAUSED", "FIRST_PAUSE"),
        ("APPROVED", "UNPAUSE"),
        ("PAUSED", "SECOND_PAUSE"),
        ("APPROVED", "UNPAUSE"),
        ("DISABLED", "DISABLED"),
    ]
    assert changes[-1]["disable_info"] == {"disable_date": int(clock.now() - 30 * DAY)}
    rows = wagate.rt.db.read_now(
        lambda conn: conn.execute(
            select(events.c.field, events.c.meta_value).where(events.c.type == "template.quality")
        ).all()
    )
    assert {r.field for r in rows} == {"message_template_quality_update"}
    assert json.loads(opened(wagate.rt.db, events.c.meta_value, rows[1].meta_value)) == {
        "previous_quality_score": "YELLOW",
        "new_quality_score": "RED",
        "message_template_id": int(template_id),
        "message_template_name": "order_ready",
        "message_template_language": "en_US",
    }


async def test_unpause_answers_as_meta(wagate: Wagate) -> None:
    template_id = await _approved(wagate)
    assert _error(await wagate.client.post(f"/v23.0/{template_id}/unpause"))["code"] == 100
    await _rate(wagate, template_id, "RED")
    unpaused = await wagate.client.post(f"/v23.0/{template_id}/unpause")
    assert unpaused.json() == {"success": True}
    assert (await _template(wagate, template_id))["status"] == "APPROVED"
    assert (await _send(wagate)).status_code == 200
    bad = await wagate.client.post(
        f"/api/v1/simulator/templates/{template_id}/quality", json={"score": "BLUE"}
    )
    assert bad.status_code == 400 and bad.json()["error"]["message"].startswith("score:")


async def test_a_paused_template_may_be_edited_and_goes_back_to_review(wagate: Wagate) -> None:
    template_id = await _approved(wagate)
    await _rate(wagate, template_id, "RED")
    for n in range(2):  # paused templates: no edit limit
        text = f"Your order {n} is ready for pickup at the counter today."
        edited = await wagate.client.post(
            f"/v23.0/{template_id}", json={"components": [{"type": "BODY", "text": text}]}
        )
        assert edited.json() == {"success": True}, edited.text
        assert (await _template(wagate, template_id))["status"] == "PENDING"
        await template_service.do_set_template_status(wagate.rt, int(template_id), "PAUSED")


# -- Meta's template webhooks (the `cloud` upstream) -----------------------------------------------
def _envelope(waba_id: str, field: str, value: dict[str, Any]) -> bytes:
    change = {"field": field, "value": value}
    entry = {"id": waba_id, "time": 1751247548, "changes": [change]}
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


async def test_metas_status_and_quality_updates_are_applied(wagate: Wagate) -> None:
    template_id = await _approved(wagate)
    named = {"message_template_id": int(template_id), "message_template_name": "order_ready"}
    named["message_template_language"] = "en_US"  # type: ignore[assignment]
    quality = {"previous_quality_score": "GREEN", "new_quality_score": "RED", **named}
    await ingest(wagate.rt, _envelope(wagate.waba_id, "message_template_quality_update", quality), "meta")
    assert (await _template(wagate, template_id))["quality_score"]["score"] == "RED"
    assert (await _send(wagate)).status_code == 200  # cached as approved: the update must clear that
    for event, code in (("PAUSED", 132015), ("DISABLED", 132016), ("PENDING_DELETION", 132001)):
        value = {"event": event, "reason": None, "message_template_category": "UTILITY", **named}
        await ingest(wagate.rt, _envelope(wagate.waba_id, "message_template_status_update", value), "meta")
        assert (await _template(wagate, template_id))["status"] == event
        refused = await _send(wagate)
        assert refused.json()["error"]["code"] == code, refused.text
    metrics = wagate.rt.metrics.render().decode()
    assert 'wagate_templates_paused_total{status="paused"} 1.0' in metrics


# -- `wagate templates sync` against the fake Meta ------------------------------------------------
@pytest.fixture
def fake_meta(tmp_path: Path) -> Iterator[str]:
    with fake_meta_server(tmp_path) as url:
        yield url


def _meta_account(meta_url: str, names: list[str]) -> dict[str, str]:
    """A number (and business account) at the fake Meta, with templates created there."""
    return meta_account(meta_url, [{**ORDER_READY, "name": name} for name in names])


async def test_sync_imports_metas_templates_page_by_page_keeping_ids(
    tmp_path: Path, fake_meta: str, clock: SettableClock
) -> None:
    meta = _meta_account(fake_meta, [f"order_ready_{i}" for i in range(5)])
    async with httpx.AsyncClient() as client:
        listed_at_meta = await client.get(
            f"{fake_meta}/v23.0/{meta['waba_id']}/message_templates",
            headers={"Authorization": f"Bearer {meta['access_token']}"},
            params={"limit": "10"},
        )
    at_meta = listed_at_meta.json()["data"]
    settings = make_settings(tmp_path / "home", graph_base_url=fake_meta, allow_private_targets=True)
    async with serving(settings, clock) as wagate:
        account = cloud_account(wagate.rt.db, clock.now(), meta)
        cloud = wagate.rt.upstreams["cloud"]
        assert isinstance(cloud, CloudUpstream)
        first = await do_sync_templates(wagate.rt, cloud, page_size=2)  # three pages
        # Meta's own sample, `hello_world`, was made locally under another id: it takes Meta's.
        assert first == [AccountSync(int(meta["waba_id"]), created=5, updated=1)]
        headers = {"Authorization": f"Bearer {account.token}"}
        for template in at_meta:
            local = (await wagate.client.get(f"/v23.0/{template['id']}", headers=headers)).json()
            assert {k: local[k] for k in ("name", "language", "category", "status", "parameter_format")} == {
                k: template[k] for k in ("name", "language", "category", "status", "parameter_format")
            }
            assert local["components"] == template["components"]

        paused = int(next(t["id"] for t in at_meta if t["name"] == "order_ready_0"))
        await template_service.do_set_template_status(wagate.rt, paused, "PAUSED")
        second = await do_sync_templates(wagate.rt, cloud, page_size=2)
        assert second == [AccountSync(int(meta["waba_id"]), updated=1, unchanged=5)]
        local = (await wagate.client.get(f"/v23.0/{paused}", headers=headers)).json()
        assert local["status"] == "APPROVED"
        back = [e for e in _status_events(wagate) if e["message_template_id"] == paused]
        assert [e["event"] for e in back] == ["PAUSED", "APPROVED"]
        listed = await wagate.client.get(f"/v23.0/{meta['waba_id']}/message_templates", headers=headers)
        assert sorted(t["name"] for t in listed.json()["data"]) == [
            "hello_world",
            *(f"order_ready_{i}" for i in range(5)),
        ]


def test_templates_sync_and_list_from_the_command_line(tmp_path: Path, fake_meta: str) -> None:
    meta = _meta_account(fake_meta, ["order_ready", "order_shipped", "order_late"])
    home = tmp_path / "wagate"
    home.mkdir()
    db = Database(databases.database_url(home), databases.key_ring(home))
    upgrade(db)
    cloud_account(db, time.time(), meta)
    db.stop()
    env = {"WAGATE_GRAPH_BASE_URL": fake_meta, "WAGATE_ALLOW_PRIVATE_TARGETS": "1"}
    synced = json.loads(run_cli(home, "templates", "sync", "--page-size", "2", "--json", **env))
    assert synced == [
        {
            "waba_id": int(meta["waba_id"]),
            "created": 3,
            "updated": 1,  # the local `hello_world` takes Meta's id
            "unchanged": 0,
            "skipped": 0,
            "error": None,
        }
    ]
    again = run_cli(home, "templates", "sync", **env)
    assert meta["waba_id"] in again
    listed = json.loads(run_cli(home, "templates", "list", "--json"))
    assert sorted((t["name"], t["language"], t["category"], t["status"]) for t in listed) == [
        ("hello_world", "en_US", "UTILITY", "APPROVED"),
        ("order_late", "en_US", "UTILITY", "APPROVED"),
        ("order_ready", "en_US", "UTILITY", "APPROVED"),
        ("order_shipped", "en_US", "UTILITY", "APPROVED"),
    ]
    table = run_cli(home, "templates", "list", COLUMNS="200")
    assert "order_shipped" in table and "APPROVED" in table
