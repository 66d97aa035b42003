"""The audit log: each management change writes one row naming who made it; paging, export, isolation."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Wagate, make_settings, serving
from tests.factories import ORDER_UPDATE, make_organization
from tests.helpers import run_cli
from tests.receiver import Receiver
from wagate.clock import SettableClock
from wagate.services import templates as template_service
from wagate.settings import Settings

ORDER_SHIPPED = {
    "name": "order_shipped",
    "language": "en_US",
    "category": "UTILITY",
    "components": ORDER_UPDATE,
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "home", allow_private_targets=True)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    endpoint = await Receiver().start()
    yield endpoint
    await endpoint.stop()


async def entries(w: Wagate, token: str | None = None, **params: Any) -> dict[str, Any]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = await w.client.get("/api/v1/audit", params=params, headers=headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def oldest_first(w: Wagate) -> list[dict[str, Any]]:
    """The log after its first row, which is always the bootstrap's token (checked here)."""
    rows = list((await entries(w, order="oldest", limit=1000))["data"])
    assert (rows[0]["action"], rows[0]["actor"], rows[0]["detail"]["name"]) == (
        "token.issue",
        "cli",
        "bootstrap",
    )
    return rows[1:]


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return {} if status == 204 else dict(response.json())


async def my_token_id(w: Wagate) -> int:
    return int((await w.client.get("/api/v1/tokens")).json()["data"][0]["id"])


async def test_each_management_change_writes_one_row_naming_its_actor(
    wagate: Wagate, receiver: Receiver
) -> None:
    c = wagate.client
    issued = await ok(await c.post("/api/v1/tokens", json={"name": "crm", "scopes": ["read"]}), 201)
    await ok(await c.delete(f"/api/v1/tokens/{issued['id']}"), 204)

    sub = await ok(await c.post("/api/v1/webhooks/subscriptions", json={"url": receiver.url("/hook")}), 201)
    await ok(await c.patch(f"/api/v1/webhooks/subscriptions/{sub['id']}", json={"active": False}))
    await ok(await c.delete(f"/api/v1/webhooks/subscriptions/{sub['id']}"), 204)

    templates = f"/v23.0/{wagate.waba_id}/message_templates"
    template_id = (await ok(await c.post(templates, json=ORDER_SHIPPED)))["id"]
    assert await template_service.do_set_template_status(wagate.rt, int(template_id), "APPROVED")
    await ok(await c.post(f"/v23.0/{template_id}", json={"message_send_ttl_seconds": 600}))
    await ok(await c.post(f"/api/v1/simulator/templates/{template_id}/quality", json={"score": "RED"}))
    await ok(await c.post(f"/v23.0/{template_id}/unpause"))
    await ok(await c.delete(templates, params={"name": "order_shipped"}))

    await ok(await c.patch("/api/v1/policy", json={"marketing_per_day": 3}))

    contact = await ok(await c.post("/api/v1/contacts", json={"phone": "+7 916 111-22-33"}), 201)
    await ok(await c.patch(f"/api/v1/contacts/{contact['id']}", json={"name": "Анна", "add_tags": ["vip"]}))
    consent = {"purpose": "marketing", "action": "opt_in", "source": "web form", "proof": "checkbox"}
    await ok(await c.post(f"/api/v1/contacts/{contact['id']}/consent", json=consent), 201)
    record = {"phone": "+7 916 222-33-44", "purpose": "utility", "action": "opt_in", "source": "csv"}
    await ok(await c.post("/api/v1/consents/import", json={"records": [record]}))
    await ok(await c.delete(f"/api/v1/contacts/{contact['id']}"))

    rows = await oldest_first(wagate)
    assert [(r["action"], r["target_type"]) for r in rows] == [
        ("token.issue", "token"),
        ("token.revoke", "token"),
        ("webhook_subscription.create", "webhook_subscription"),
        ("webhook_subscription.update", "webhook_subscription"),
        ("webhook_subscription.delete", "webhook_subscription"),
        ("template.create", "template"),
        ("template.edit", "template"),
        ("template.unpause", "template"),
        ("template.delete", "template"),
        ("policy.update", "policy"),
        ("contact.create", "contact"),
        ("contact.update", "contact"),
        ("consent.record", "contact"),
        ("consent.import", None),
        ("contact.erase", "contact"),
    ]
    me = f"token:{await my_token_id(wagate)}"
    assert {r["actor"] for r in rows} == {me}
    assert all(r["ip"] for r in rows)
    assert rows[0]["target_id"] == rows[1]["target_id"] == str(issued["id"])
    assert rows[0]["detail"] == {"name": "crm", "scopes": ["read"], "expires_at": None}
    assert rows[3]["detail"] == {"changed": ["active"]}
    assert rows[6]["target_id"] == template_id
    assert rows[9]["detail"] == {"changed": ["marketing_per_day"]}
    assert rows[11]["detail"] == {"changed": ["add_tags", "name"]}
    # No secret, and no phone number of the erased contact, is in the log.
    text = json.dumps(rows)
    for secret in (issued["token"], sub["secret"], "79161112233"):
        assert secret not in text


async def test_refused_changes_write_nothing(wagate: Wagate) -> None:
    c = wagate.client
    assert (await c.patch("/api/v1/policy", json={"marketing_per_day": -1})).status_code == 400
    assert (await c.post("/api/v1/tokens", json={"name": "", "scopes": ["read"]})).status_code == 400
    assert (await c.delete("/api/v1/tokens/999999")).status_code == 404
    await ok(await c.post("/api/v1/contacts", json={"phone": "+7 916 111-22-33"}), 201)
    assert (await c.post("/api/v1/contacts", json={"phone": "+7 916 111-22-33"})).status_code == 409
    assert [r["action"] for r in await oldest_first(wagate)] == ["contact.create"]


async def test_pages_newest_first_with_filters(wagate: Wagate, clock: SettableClock) -> None:
    start = clock.now()
    for name in ("a", "b", "c"):
        await ok(await wagate.client.post("/api/v1/tokens", json={"name": name, "scopes": ["read"]}), 201)
        clock.advance(10)
    await ok(await wagate.client.patch("/api/v1/policy", json={"marketing_per_day": 3}))

    first = await entries(wagate, limit=2)
    assert [r["action"] for r in first["data"]] == ["policy.update", "token.issue"]
    assert first["data"][0]["id"] > first["data"][1]["id"]
    rest = await entries(wagate, limit=2, after=first["next_after"])
    assert [r["detail"]["name"] for r in rest["data"]] == ["b", "a"] and rest["next_after"] is not None
    last = await entries(wagate, limit=2, after=rest["next_after"])
    assert [r["detail"]["name"] for r in last["data"]] == ["bootstrap"] and last["next_after"] is None

    issues = await entries(wagate, action="token.issue", order="oldest")
    names = [r["detail"]["name"] for r in issues["data"]]
    assert names == ["bootstrap", "a", "b", "c"] and issues["next_after"] is None
    window = await entries(wagate, since=start + 5, until=start + 25)
    assert [r["detail"].get("name") for r in window["data"]] == ["c", "b"]

    for bad in ({"limit": "0"}, {"limit": "x"}, {"after": "-1"}, {"since": "yesterday"}, {"order": "up"}):
        response = await wagate.client.get("/api/v1/audit", params=bad)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_parameter", bad


async def test_export_as_json_lines_and_csv(wagate: Wagate) -> None:
    for name in ("a", "b"):
        await ok(await wagate.client.post("/api/v1/tokens", json={"name": name, "scopes": ["read"]}), 201)
    rows = list((await entries(wagate, order="oldest"))["data"])  # the bootstrap's token and these two
    assert len(rows) == 3

    jsonl = await wagate.client.get("/api/v1/audit/export", params={"format": "jsonl"})
    assert jsonl.status_code == 200 and jsonl.headers["content-type"] == "application/x-ndjson"
    assert [json.loads(line) for line in jsonl.text.splitlines()] == rows

    as_csv = await wagate.client.get("/api/v1/audit/export", params={"format": "csv"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    read = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(int(r["id"]), r["action"], r["actor"]) for r in read] == [
        (r["id"], r["action"], r["actor"]) for r in rows
    ]
    assert [json.loads(r["detail"]) for r in read] == [r["detail"] for r in rows]

    bad = await wagate.client.get("/api/v1/audit/export", params={"format": "xml"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_parameter"


async def test_an_organization_reads_only_its_own_audit_log(wagate: Wagate) -> None:
    other = make_organization(wagate.rt.db, wagate.rt.clock.now())
    await ok(await wagate.client.post("/api/v1/tokens", json={"name": "ours", "scopes": ["read"]}), 201)
    assert (await entries(wagate, token=other.token))["data"] == []
    export = await wagate.client.get(
        "/api/v1/audit/export", headers={"Authorization": f"Bearer {other.token}"}
    )
    assert export.status_code == 200 and export.text == ""
    assert [r["detail"]["name"] for r in (await entries(wagate))["data"]] == ["ours", "bootstrap"]


async def test_cli_changes_are_recorded_as_the_cli_and_listed_and_exported(
    settings: Settings, clock: SettableClock
) -> None:
    async with serving(settings, clock) as w:
        out = run_cli(settings.home, "tokens", "issue", "--org", "demo", "--name", "ops", "--json")
        issued = json.loads(out)
        run_cli(settings.home, "tokens", "revoke", str(issued["id"]))
        rows = await oldest_first(w)
        assert [(r["action"], r["actor"], r["target_id"]) for r in rows] == [
            ("token.issue", "cli", str(issued["id"])),
            ("token.revoke", "cli", str(issued["id"])),
        ]
        listed = json.loads(run_cli(settings.home, "audit", "list", "--org", "demo", "--json"))
        assert [r["action"] for r in listed] == ["token.revoke", "token.issue", "token.issue"]
        exported = run_cli(settings.home, "audit", "export", "--org", "demo", "--format", "csv")
        exported_actions = [r["action"] for r in csv.DictReader(io.StringIO(exported))]
        assert exported_actions == ["token.issue", "token.issue", "token.revoke"]
        jsonl = run_cli(settings.home, "audit", "export", "--org", "demo", "--format", "jsonl")
        assert [json.loads(line) for line in jsonl.splitlines()][1:] == rows
