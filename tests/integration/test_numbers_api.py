"""Business numbers through `/api/v1/numbers` and `wagate numbers`: added to an account and sending at
once (through the simulator, or Meta: here the fake Meta), changed while they send, and refreshed with
how Meta sees them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Wagate, make_settings, serving
from tests.factories import make_organization, make_template
from tests.fake_meta import fake_meta_server, meta_account
from tests.helpers import eventually
from tests.management import api_error, audited, cli, org_id
from wagate.clock import SettableClock

HELLO = {
    "messaging_product": "whatsapp",
    "to": "+16505551234",
    "type": "template",
    "template": {"name": "hello_world", "language": {"code": "en_US"}},
}


@pytest.fixture
def fake_meta(tmp_path: Path) -> Iterator[str]:
    with fake_meta_server(tmp_path) as url:
        yield url


@pytest.fixture
async def with_meta(tmp_path: Path, fake_meta: str, clock: SettableClock) -> AsyncIterator[Wagate]:
    settings = make_settings(tmp_path / "home", graph_base_url=fake_meta, allow_private_targets=True)
    async with serving(settings, clock) as wagate:
        yield wagate


async def _post(wagate: Wagate, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await wagate.client.post(path, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _local_account(wagate: Wagate) -> str:
    return str((await _post(wagate, "/api/v1/business-accounts", {"name": "Second shop"}))["id"])


async def _numbers(wagate: Wagate) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = (await wagate.client.get("/api/v1/numbers")).json()["data"]
    return data


async def _delivered(wagate: Wagate, wamid: str) -> None:
    """The message reached the customer's phone (the simulator's receipts arrive quickly: read, too)."""

    async def reached() -> bool:
        return (await wagate.message(wamid))["status"] in ("delivered", "read")

    await eventually(reached)


async def _accepted_at_meta(meta_url: str) -> int:
    async with httpx.AsyncClient() as client:
        return int((await client.get(f"{meta_url}/api/v1/simulator/stats")).json()["accepted"])


async def _reaches_meta(meta_url: str, count: int) -> None:
    """Meta (the fake one) has accepted `count` messages; their receipts go to no webhook here."""

    async def accepted() -> bool:
        return await _accepted_at_meta(meta_url) == count

    await eventually(accepted)


async def test_a_number_added_through_the_api_sends_through_the_simulator(wagate: Wagate) -> None:
    waba = await _local_account(wagate)
    number = await _post(
        wagate, "/api/v1/numbers", {"waba_id": waba, "display_phone_number": "+1 650 555 0100", "rate": 20}
    )
    assert (number["waba_id"], number["region"], number["upstream"]) == (waba, "US", "simulator")
    assert (number["display_phone_number"], number["rate"], number["verified_name"]) == (
        "+1 650-555-0100",
        20,
        "Second shop",
    )
    assert [n["id"] for n in await _numbers(wagate)] == [wagate.phone_number_id, number["id"]]
    [entry] = await audited(wagate, await org_id(wagate), "number.create")
    assert entry["target_id"] == number["id"] and entry["detail"]["rate"] == 20

    await wagate.customer_writes("16505551234", phone_number_id=number["id"])
    sent = await wagate.client.post(
        f"/v23.0/{number['id']}/messages",
        json={"messaging_product": "whatsapp", "to": "16505551234", "type": "text", "text": {"body": "Hi"}},
    )
    assert sent.status_code == 200, sent.text
    await _delivered(wagate, sent.json()["messages"][0]["id"])


async def test_a_cloud_number_added_through_the_api_sends_through_meta(
    with_meta: Wagate, fake_meta: str
) -> None:
    meta = meta_account(fake_meta)
    account = {"name": "Cloud shop", "meta_waba_id": meta["waba_id"], "access_token": meta["access_token"]}
    await _post(with_meta, "/api/v1/business-accounts", account)
    number = await _post(
        with_meta,
        "/api/v1/numbers",
        {
            "waba_id": meta["waba_id"],
            "display_phone_number": meta["display_phone_number"],
            "meta_phone_number_id": meta["phone_number_id"],
        },
    )
    assert number["id"] == meta["phone_number_id"] and number["upstream"] == "cloud"
    # The account's templates are Meta's: imported as a business does.
    env = {"WAGATE_GRAPH_BASE_URL": fake_meta, "WAGATE_ALLOW_PRIVATE_TARGETS": "true"}
    synced = cli(with_meta.rt.settings.home, "templates", "sync", "--json", **env)
    assert synced.returncode == 0, synced.stdout + synced.stderr

    sent = await with_meta.client.post(f"/v23.0/{number['id']}/messages", json=HELLO)
    assert sent.status_code == 200, sent.text
    await _reaches_meta(fake_meta, 1)


async def test_a_number_moved_to_meta_while_it_sends_goes_on_through_meta(
    with_meta: Wagate, fake_meta: str
) -> None:
    meta = meta_account(fake_meta)
    second = meta_account(fake_meta, waba_id=int(meta["waba_id"]))
    account = {"name": "Cloud shop", "meta_waba_id": meta["waba_id"], "access_token": meta["access_token"]}
    await _post(with_meta, "/api/v1/business-accounts", account)
    body = {"waba_id": meta["waba_id"], "display_phone_number": meta["display_phone_number"]}
    await _post(with_meta, "/api/v1/numbers", {**body, "meta_phone_number_id": meta["phone_number_id"]})
    trial = await _post(
        with_meta,
        "/api/v1/numbers",
        {
            **body,
            "display_phone_number": second["display_phone_number"],
            "meta_phone_number_id": second["phone_number_id"],
            "upstream": "simulator",
        },
    )
    env = {"WAGATE_GRAPH_BASE_URL": fake_meta, "WAGATE_ALLOW_PRIVATE_TARGETS": "true"}
    assert cli(with_meta.rt.settings.home, "templates", "sync", **env).returncode == 0

    # Tried on the simulator first: the customer's message and the answer never reach Meta.
    await with_meta.customer_writes("16505551234", phone_number_id=trial["id"])
    text = {"messaging_product": "whatsapp", "to": "16505551234", "type": "text", "text": {"body": "Hi"}}
    first = await with_meta.client.post(f"/v23.0/{trial['id']}/messages", json=text)
    await _delivered(with_meta, first.json()["messages"][0]["id"])
    assert await _accepted_at_meta(fake_meta) == 0

    moved = await with_meta.client.patch(
        f"/api/v1/numbers/{trial['id']}", json={"upstream": "cloud", "rate": 40}
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["upstream"], moved.json()["rate"]) == ("cloud", 40)
    [entry] = await audited(with_meta, await org_id(with_meta), "number.update")
    assert entry["detail"] == {
        "upstream": {"from": "simulator", "to": "cloud"},
        "rate": {"from": 80, "to": 40},
    }

    sent = await with_meta.client.post(f"/v23.0/{trial['id']}/messages", json=HELLO)
    assert sent.status_code == 200, sent.text
    await _reaches_meta(fake_meta, 1)


async def test_a_new_rate_is_used_at_once(wagate: Wagate) -> None:
    path = f"/api/v1/numbers/{wagate.phone_number_id}"
    graph = f"/v23.0/{wagate.phone_number_id}"
    assert (await wagate.client.get(graph)).json()["throughput"] == {"level": "STANDARD"}
    changed = await wagate.client.patch(path, json={"rate": 1000, "verified_name": "Demo Shop"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["rate"], changed.json()["verified_name"]) == (1000, "Demo Shop")
    assert (await wagate.client.get(graph)).json()["throughput"] == {"level": "HIGH"}
    sent = await wagate.client.post(f"{graph}/messages", json=HELLO)
    await _delivered(wagate, sent.json()["messages"][0]["id"])


async def test_a_simulator_number_is_refreshed_from_the_simulator(wagate: Wagate) -> None:
    refreshed = await wagate.client.post(f"/api/v1/numbers/{wagate.phone_number_id}/refresh")
    assert refreshed.status_code == 200, refreshed.text
    number = refreshed.json()
    assert (number["messaging_tier"], number["quality_rating"]) == ("TIER_UNLIMITED", "GREEN")
    assert (number["code_verification_status"], number["platform_type"]) == ("VERIFIED", "CLOUD_API")
    assert number["registered_at"] is not None
    assert (await wagate.client.get(f"/api/v1/numbers/{wagate.phone_number_id}")).json() == number
    [entry] = await audited(wagate, await org_id(wagate), "number.refresh")
    assert entry["detail"]["messaging_tier"] == "TIER_UNLIMITED" and entry["detail"]["connected"] is True
    # Still registered: it sends.
    sent = await wagate.client.post(f"/v23.0/{wagate.phone_number_id}/messages", json=HELLO)
    assert sent.status_code == 200, sent.text


async def test_a_cloud_number_is_refreshed_from_meta(with_meta: Wagate, fake_meta: str) -> None:
    meta = meta_account(fake_meta, messaging_limit=1000)
    account = {"name": "Cloud shop", "meta_waba_id": meta["waba_id"], "access_token": meta["access_token"]}
    await _post(with_meta, "/api/v1/business-accounts", account)
    body = {
        "waba_id": meta["waba_id"],
        "display_phone_number": meta["display_phone_number"],
        "meta_phone_number_id": meta["phone_number_id"],
        "verified_name": "Our name",
    }
    await _post(with_meta, "/api/v1/numbers", body)
    refreshed = await with_meta.client.post(f"/api/v1/numbers/{meta['phone_number_id']}/refresh")
    assert refreshed.status_code == 200, refreshed.text
    number = refreshed.json()
    assert (number["messaging_tier"], number["quality_rating"], number["name_status"]) == (
        "TIER_1K",
        "GREEN",
        "APPROVED",
    )
    assert (number["code_verification_status"], number["platform_type"]) == ("VERIFIED", "CLOUD_API")
    assert number["verified_name"] == "Simulated business"  # what Meta says, not what was typed here
    assert number["registered_at"] is not None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"display_phone_number": "12"}, "display_phone_number"),
        ({"display_phone_number": "call me"}, "display_phone_number"),
        ({"rate": 0}, "rate"),
        ({"rate": 1001}, "rate"),
        ({"upstream": "pigeon"}, "upstream"),
        ({"upstream": "cloud"}, "upstream"),
        ({"meta_phone_number_id": "123456789012345"}, "meta_phone_number_id"),
        ({"verified_name": "x" * 201}, "verified_name"),
    ],
)
async def test_a_bad_number_is_refused_and_nothing_is_added(
    wagate: Wagate, change: dict[str, Any], field: str
) -> None:
    body = {"waba_id": wagate.waba_id, "display_phone_number": "+1 650 555 0100", **change}
    error = api_error(await wagate.client.post("/api/v1/numbers", json=body), 400, "invalid_request")
    assert error["data"]["field"] == field
    assert len(await _numbers(wagate)) == 1
    assert await audited(wagate, await org_id(wagate), "number.create") == []


async def test_a_number_of_an_account_at_meta_needs_its_meta_id(wagate: Wagate) -> None:
    account = {"name": "At Meta", "meta_waba_id": "123456789012345", "access_token": "EAAGtoken1234"}
    await _post(wagate, "/api/v1/business-accounts", account)
    body = {"waba_id": "123456789012345", "display_phone_number": "+1 650 555 0100"}
    error = api_error(await wagate.client.post("/api/v1/numbers", json=body), 400, "invalid_request")
    assert error["data"]["field"] == "meta_phone_number_id"
    taken = {**body, "meta_phone_number_id": wagate.phone_number_id}
    api_error(await wagate.client.post("/api/v1/numbers", json=taken), 409, "number_exists")
    api_error(await wagate.client.post("/api/v1/numbers", json={**body, "to": "x"}), 400, "invalid_request")
    bad_changes = ({"rate": 0}, {"upstream": "cloud"}, {"verified_name": ""}, {"region": "GB"})
    for bad in bad_changes:
        path = f"/api/v1/numbers/{wagate.phone_number_id}"
        api_error(await wagate.client.patch(path, json=bad), 400, "invalid_request")
    assert [(n["rate"], n["upstream"]) for n in await _numbers(wagate)] == [(80, "simulator")]


async def test_another_organizations_numbers_and_accounts_answer_not_found(wagate: Wagate) -> None:
    other = make_organization(wagate.rt.db, wagate.rt.clock.now())
    for raw in (str(other.number.id), "100000000000001", "abc"):
        path = f"/api/v1/numbers/{raw}"
        api_error(await wagate.client.get(path), 404, "not_found")
        api_error(await wagate.client.patch(path, json={"rate": 1}), 404, "not_found")
        api_error(await wagate.client.post(f"{path}/refresh"), 404, "not_found")
    theirs = {"waba_id": str(other.number.waba_id), "display_phone_number": "+1 650 555 0100"}
    api_error(await wagate.client.post("/api/v1/numbers", json=theirs), 404, "not_found")
    headers = {"Authorization": f"Bearer {other.token}"}
    listed = (await wagate.client.get("/api/v1/numbers", headers=headers)).json()["data"]
    assert [(n["id"], n["rate"]) for n in listed] == [(str(other.number.id), 80)]


async def test_the_operator_adds_and_changes_numbers_from_the_cli(wagate: Wagate) -> None:
    home = wagate.rt.settings.home
    added = cli(
        home, "numbers", "add", "--org", "demo", "--waba", wagate.waba_id, "--number", "+44 20 7946 0000",
        "--rate", "25", "--json",
    )  # fmt: skip
    assert added.returncode == 0, added.stdout + added.stderr
    number = json.loads(added.stdout)
    assert (number["region"], number["upstream"], number["rate"]) == ("GB", "simulator", 25)
    listed = json.loads(cli(home, "numbers", "list", "--json").stdout)
    assert [(n["id"], n["rate"]) for n in listed] == [(wagate.phone_number_id, 80), (number["id"], 25)]

    updated = cli(home, "numbers", "update", number["id"], "--rate", "1000")
    assert updated.returncode == 0, updated.stderr
    assert updated.stdout.strip() == f"{number['id']} (+44 20 7946 0000): rate 1000 messages/s"
    changes = await audited(wagate, await org_id(wagate), "number.update")
    assert [(e["actor"], e["detail"]) for e in changes] == [("cli", {"rate": {"from": 25, "to": 1000}})]

    for args in (
        ("add", "--org", "demo", "--waba", wagate.waba_id, "--number", "12"),
        ("add", "--org", "nobody", "--waba", wagate.waba_id, "--number", "+44 20 7946 0001"),
        ("update", number["id"], "--rate", "0"),
        ("update", "100000000000001", "--rate", "5"),
    ):
        refused = cli(home, "numbers", *args)
        assert refused.returncode == 2, refused.stdout
    assert len(json.loads(cli(home, "numbers", "list", "--json").stdout)) == 2


async def test_a_number_added_from_the_cli_while_wagate_runs_sends_its_accounts_templates(
    wagate: Wagate,
) -> None:
    waba = await _local_account(wagate)
    body = [{"type": "BODY", "text": "Your order is ready for pickup at the counter today."}]
    make_template(
        wagate.rt.db, await org_id(wagate), int(waba), "order_ready", body, now=wagate.rt.clock.now()
    )
    home = wagate.rt.settings.home
    added = cli(
        home, "numbers", "add", "--org", "demo", "--waba", waba, "--number", "+1 650 555 0111", "--json"
    )
    assert added.returncode == 0, added.stdout + added.stderr
    number = json.loads(added.stdout)["id"]
    order_ready = {**HELLO, "template": {"name": "order_ready", "language": {"code": "en_US"}}}
    sent = await wagate.client.post(f"/v23.0/{number}/messages", json=order_ready)
    assert sent.status_code == 200, sent.text
    # Sent through the running wagate's simulator, which knew the account's template (the guard in
    # conftest fails the test on any refusal).
    await _delivered(wagate, sent.json()["messages"][0]["id"])
