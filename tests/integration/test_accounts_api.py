"""Business accounts through `/api/v1/business-accounts` and `wagate accounts`: added with their Meta id
and credentials (which are never shown again), changed, removed, and subscribed to Meta's webhooks
(here: the fake Meta)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Wagate, make_settings, serving
from tests.factories import make_organization
from tests.fake_meta import fake_meta_server, meta_account, meta_headers
from tests.management import api_error, audited, cli, org_id
from wagate.clock import SettableClock

TOKEN = "EAAGsystemusertoken0123456789wxyz"
SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


@pytest.fixture
def fake_meta(tmp_path: Path) -> Iterator[str]:
    with fake_meta_server(tmp_path) as url:
        yield url


@pytest.fixture
async def with_meta(tmp_path: Path, fake_meta: str, clock: SettableClock) -> AsyncIterator[Wagate]:
    """wagate calling the fake Meta as its Graph API."""
    settings = make_settings(tmp_path / "home", graph_base_url=fake_meta, allow_private_targets=True)
    async with serving(settings, clock) as wagate:
        yield wagate


async def _create(wagate: Wagate, **body: Any) -> dict[str, Any]:
    response = await wagate.client.post("/api/v1/business-accounts", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _listed(wagate: Wagate) -> list[dict[str, Any]]:
    response = await wagate.client.get("/api/v1/business-accounts")
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def test_an_account_at_meta_keeps_metas_id_and_never_shows_its_secrets(wagate: Wagate) -> None:
    created = await _create(
        wagate,
        name="Shop at Meta",
        meta_waba_id="123456789012345",
        access_token=TOKEN,
        app_secret=SECRET,
        meta_app_id="987654321",
    )
    assert created["id"] == "123456789012345" and created["at_meta"] is True
    assert created["access_token_set"] is True and created["access_token_last4"] == "wxyz"
    assert created["app_secret_set"] is True and created["meta_app_id"] == "987654321"
    assert created["subscribed_at"] is None and created["phone_number_ids"] == []

    shown = await wagate.client.get("/api/v1/business-accounts/123456789012345")
    assert shown.json() == created
    everything = json.dumps(await _listed(wagate))
    assert TOKEN not in everything and SECRET not in everything and TOKEN[:-4] not in everything

    [entry] = await audited(wagate, await org_id(wagate), "business_account.create")
    assert entry["target_id"] == "123456789012345"
    assert TOKEN not in json.dumps(entry) and SECRET not in json.dumps(entry)


async def test_an_account_is_renamed_given_a_new_token_and_secret_and_removed(wagate: Wagate) -> None:
    account = await _create(wagate, name="Shop", meta_waba_id="223456789012345", access_token=TOKEN)
    path = f"/api/v1/business-accounts/{account['id']}"
    changed = await wagate.client.patch(
        path, json={"name": "Shop two", "access_token": "EAAGnewtoken9876", "app_secret": SECRET}
    )
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert (after["name"], after["access_token_last4"], after["app_secret_set"]) == ("Shop two", "9876", True)
    cleared = await wagate.client.patch(path, json={"app_secret": None, "meta_app_id": "555"})
    assert (cleared.json()["app_secret_set"], cleared.json()["meta_app_id"]) == (False, "555")
    [first, second] = await audited(wagate, await org_id(wagate), "business_account.update")
    assert first["detail"] == {"name": "Shop two", "access_token": "(changed)", "app_secret": "(changed)"}
    assert "EAAGnewtoken9876" not in json.dumps([first, second])

    deleted = await wagate.client.delete(path)
    assert deleted.status_code == 200 and deleted.json() == {"id": account["id"], "deleted": True}
    api_error(await wagate.client.get(path), 404, "not_found")
    assert [a["id"] for a in await _listed(wagate)] == [wagate.waba_id]
    assert len(await audited(wagate, await org_id(wagate), "business_account.delete")) == 1
    # Meta's id is free again: the account can be added back.
    await _create(wagate, name="Shop", meta_waba_id="223456789012345", access_token=TOKEN)


async def test_an_account_with_numbers_or_templates_is_not_removed(wagate: Wagate) -> None:
    error = api_error(
        await wagate.client.delete(f"/api/v1/business-accounts/{wagate.waba_id}"), 409, "account_in_use"
    )
    assert "phone numbers" in error["message"]
    assert [a["id"] for a in await _listed(wagate)] == [wagate.waba_id]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "No token", "meta_waba_id": "323456789012345"}, "access_token"),
        ({"name": "Token, no id", "access_token": TOKEN}, "meta_waba_id"),
        ({"name": "Bad id", "meta_waba_id": "12ab", "access_token": TOKEN}, "meta_waba_id"),
        ({"name": "", "meta_waba_id": "323456789012345", "access_token": TOKEN}, "name"),
        ({"name": "Bad app", "meta_app_id": "app"}, "meta_app_id"),
        ({"name": "Empty secret", "app_secret": " "}, "app_secret"),
    ],
)
async def test_a_bad_account_is_refused_and_nothing_is_added(
    wagate: Wagate, body: dict[str, Any], field: str
) -> None:
    response = await wagate.client.post("/api/v1/business-accounts", json=body)
    assert api_error(response, 400, "invalid_request")["data"]["field"] == field
    assert len(await _listed(wagate)) == 1


async def test_unknown_fields_and_a_taken_meta_id_are_refused(wagate: Wagate) -> None:
    api_error(
        await wagate.client.post("/api/v1/business-accounts", json={"name": "x", "owner": "me"}),
        400,
        "invalid_request",
    )
    # The demo account's id is taken, whoever holds it.
    taken = {"name": "Again", "meta_waba_id": wagate.waba_id, "access_token": TOKEN}
    api_error(await wagate.client.post("/api/v1/business-accounts", json=taken), 409, "account_exists")
    account = f"/api/v1/business-accounts/{wagate.waba_id}"
    api_error(await wagate.client.patch(account, json={"access_token": TOKEN}), 400, "invalid_request")
    assert len(await _listed(wagate)) == 1


async def test_another_organizations_account_answers_not_found(wagate: Wagate) -> None:
    other = make_organization(wagate.rt.db, wagate.rt.clock.now())
    theirs = f"/api/v1/business-accounts/{other.number.waba_id}"
    missing = "/api/v1/business-accounts/999999999999999"
    for path in (theirs, missing, "/api/v1/business-accounts/abc"):
        for method in ("GET", "PATCH", "DELETE"):
            body = {"name": "Mine now"} if method == "PATCH" else None
            error = api_error(await wagate.client.request(method, path, json=body), 404, "not_found")
            assert error["message"].endswith("not found")
        api_error(await wagate.client.post(f"{path}/subscribe"), 404, "not_found")
    listed = await wagate.client.get(
        "/api/v1/business-accounts", headers={"Authorization": f"Bearer {other.token}"}
    )
    assert [a["name"] for a in listed.json()["data"]] == ["other account"]
    assert [a["id"] for a in await _listed(wagate)] == [wagate.waba_id]


async def test_an_account_of_wagates_own_is_subscribed_here_only(wagate: Wagate) -> None:
    path = f"/api/v1/business-accounts/{wagate.waba_id}/subscribe"
    subscribed = await wagate.client.post(path)
    assert subscribed.status_code == 200, subscribed.text
    assert subscribed.json()["subscribed_at"] is not None
    shown = await wagate.client.get(f"/api/v1/business-accounts/{wagate.waba_id}")
    assert shown.json()["subscribed_at"] == subscribed.json()["subscribed_at"]
    unsubscribed = await wagate.client.delete(path)
    assert unsubscribed.json()["subscribed_at"] is None
    organization = await org_id(wagate)
    assert len(await audited(wagate, organization, "business_account.subscribe")) == 1
    assert len(await audited(wagate, organization, "business_account.unsubscribe")) == 1


async def _subscribed_at_meta(meta_url: str, meta: dict[str, str]) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as client:
        response = await client.get(
            f"{meta_url}/v23.0/{meta['waba_id']}/subscribed_apps", headers=meta_headers(meta)
        )
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def test_an_account_at_meta_is_subscribed_to_its_webhooks_at_meta(
    with_meta: Wagate, fake_meta: str
) -> None:
    meta = meta_account(fake_meta)
    account = await _create(
        with_meta, name="Cloud shop", meta_waba_id=meta["waba_id"], access_token=meta["access_token"]
    )
    path = f"/api/v1/business-accounts/{account['id']}/subscribe"
    assert await _subscribed_at_meta(fake_meta, meta) == []

    subscribed = await with_meta.client.post(path)
    assert subscribed.status_code == 200, subscribed.text
    assert subscribed.json()["subscribed_at"] is not None
    [app] = await _subscribed_at_meta(fake_meta, meta)
    assert app["whatsapp_business_api_data"]["id"]

    unsubscribed = await with_meta.client.delete(path)
    assert unsubscribed.status_code == 200, unsubscribed.text
    assert unsubscribed.json()["subscribed_at"] is None
    assert await _subscribed_at_meta(fake_meta, meta) == []


async def test_metas_refusal_is_told_and_nothing_is_recorded(with_meta: Wagate, fake_meta: str) -> None:
    meta = meta_account(fake_meta)
    account = await _create(with_meta, name="Wrong token", meta_waba_id=meta["waba_id"], access_token=TOKEN)
    refused = await with_meta.client.post(f"/api/v1/business-accounts/{account['id']}/subscribe")
    error = api_error(refused, 502, "meta_error")
    assert error["data"]["meta"]["code"] == 190
    shown = await with_meta.client.get(f"/api/v1/business-accounts/{account['id']}")
    assert shown.json()["subscribed_at"] is None
    assert await audited(with_meta, await org_id(with_meta), "business_account.subscribe") == []
    assert await _subscribed_at_meta(fake_meta, meta) == []


async def test_the_operator_adds_and_subscribes_an_account_from_the_cli(
    with_meta: Wagate, fake_meta: str
) -> None:
    meta = meta_account(fake_meta)
    home = with_meta.rt.settings.home
    env = {"WAGATE_GRAPH_BASE_URL": fake_meta, "WAGATE_ALLOW_PRIVATE_TARGETS": "true"}
    added = cli(
        home,
        "accounts",
        "add",
        "--org",
        "demo",
        "--name",
        "From the CLI",
        "--meta-waba-id",
        meta["waba_id"],
        "--access-token-stdin",
        "--app-secret-env",
        "SHOP_APP_SECRET",
        "--json",
        stdin=meta["access_token"] + "\n",
        SHOP_APP_SECRET=SECRET,
        **env,
    )
    assert added.returncode == 0, added.stdout + added.stderr
    account = json.loads(added.stdout)
    assert account["id"] == meta["waba_id"] and account["access_token_last4"] == meta["access_token"][-4:]
    assert account["app_secret_set"] is True and SECRET not in added.stdout

    subscribed = cli(home, "accounts", "subscribe", meta["waba_id"], "--json", **env)
    assert subscribed.returncode == 0, subscribed.stdout + subscribed.stderr
    assert json.loads(subscribed.stdout)["subscribed_at"] is not None
    assert len(await _subscribed_at_meta(fake_meta, meta)) == 1
    shown = await with_meta.client.get(f"/api/v1/business-accounts/{meta['waba_id']}")
    assert shown.json()["subscribed_at"] is not None
    [entry] = await audited(with_meta, await org_id(with_meta), "business_account.subscribe")
    assert entry["actor"] == "cli"

    listed = cli(home, "accounts", "list", "--org", "demo")
    assert "From the CLI" in listed.stdout and meta["access_token"] not in listed.stdout
    missing = cli(home, "accounts", "subscribe", "999999999999999", **env)
    assert missing.returncode == 2 and "not found" in missing.stderr
    no_token = cli(home, "accounts", "add", "--org", "demo", "--name", "x", "--access-token-stdin")
    assert no_token.returncode != 0
