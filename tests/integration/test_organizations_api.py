"""An organization sees and renames itself through `/api/v1/organization`; the deployment's operator
creates organizations (each with its first token) and lists them with `wagate orgs`."""

from __future__ import annotations

import json

from tests.conftest import Wagate
from tests.factories import make_organization
from tests.management import api_error, audited, cli, org_id


async def test_the_token_sees_its_own_organization_and_what_it_holds(wagate: Wagate) -> None:
    response = await wagate.client.get("/api/v1/organization")
    assert response.status_code == 200, response.text
    demo = response.json()
    assert (demo["name"], demo["slug"], demo["messaging_tier"]) == ("Demo", "demo", "TIER_UNLIMITED")
    assert demo["counts"] == {"business_accounts": 1, "phone_numbers": 1, "templates": 3, "active_tokens": 1}

    other = make_organization(wagate.rt.db, wagate.rt.clock.now())
    response = await wagate.client.get(
        "/api/v1/organization", headers={"Authorization": f"Bearer {other.token}"}
    )
    theirs = response.json()
    assert theirs["slug"] == "other" and theirs["id"] != demo["id"]
    assert theirs["counts"] == {
        "business_accounts": 1,
        "phone_numbers": 1,
        "templates": 0,
        "active_tokens": 1,
    }


async def test_an_organization_renames_itself_and_the_change_is_audited(wagate: Wagate) -> None:
    renamed = await wagate.client.patch("/api/v1/organization", json={"name": "  Corner Shop "})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Corner Shop"
    assert (await wagate.client.get("/api/v1/organization")).json()["name"] == "Corner Shop"

    [entry] = await audited(wagate, await org_id(wagate), "organization.update")
    assert entry["actor"].startswith("token:") and entry["target_id"] == str(await org_id(wagate))
    assert entry["detail"] == {"name": {"from": "Demo", "to": "Corner Shop"}}


async def test_a_bad_change_is_refused_and_changes_nothing(wagate: Wagate) -> None:
    for body, field in (({"name": ""}, "name"), ({"name": "x" * 201}, "name")):
        error = api_error(
            await wagate.client.patch("/api/v1/organization", json=body), 400, "invalid_request"
        )
        assert error["data"]["field"] == field
    api_error(
        await wagate.client.patch("/api/v1/organization", json={"slug": "mine"}), 400, "invalid_request"
    )
    api_error(await wagate.client.patch("/api/v1/organization", content=b"{"), 400, "invalid_request")
    after = (await wagate.client.get("/api/v1/organization")).json()
    assert (after["name"], after["slug"]) == ("Demo", "demo")
    assert await audited(wagate, int(after["id"]), "organization.update") == []


async def test_without_a_token_nothing_is_shown(wagate: Wagate) -> None:
    response = await wagate.client.get("/api/v1/organization", headers={"Authorization": ""})
    assert response.status_code == 401


async def test_the_operator_creates_an_organization_and_its_first_token(wagate: Wagate) -> None:
    home = wagate.rt.settings.home
    created = cli(
        home, "orgs", "create", "--name", "Acme Ltd", "--slug", "acme", "--tier", "TIER_1K", "--json"
    )
    assert created.returncode == 0, created.stdout + created.stderr
    acme = json.loads(created.stdout)
    assert (acme["name"], acme["slug"], acme["messaging_tier"]) == ("Acme Ltd", "acme", "TIER_1K")

    response = await wagate.client.get(
        "/api/v1/organization", headers={"Authorization": f"Bearer {acme['token']}"}
    )
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["id"] == acme["id"] and seen["slug"] == "acme"
    assert seen["counts"] == {"business_accounts": 0, "phone_numbers": 0, "templates": 0, "active_tokens": 1}
    [entry] = await audited(wagate, int(acme["id"]), "organization.create")
    assert entry["actor"] == "cli" and acme["token"] not in json.dumps(entry)

    listed = cli(home, "orgs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [o["slug"] for o in json.loads(listed.stdout)] == ["demo", "acme"]
    table = cli(home, "orgs", "list")
    assert "acme" in table.stdout and "Acme Ltd" in table.stdout


async def test_the_operator_is_told_what_is_wrong_and_nothing_is_created(wagate: Wagate) -> None:
    home = wagate.rt.settings.home
    for args, why in (
        (("--name", "Again", "--slug", "demo"), "exists"),
        (("--name", "Bad", "--slug", "Not A Slug"), "slug"),
        (("--name", "Bad", "--slug", "bad", "--tier", "TIER_3"), "tier"),
        (("--name", " ", "--slug", "blank"), "name"),
    ):
        refused = cli(home, "orgs", "create", *args)
        assert refused.returncode == 2, refused.stdout
        assert why in refused.stderr
    assert [o["slug"] for o in json.loads(cli(home, "orgs", "list", "--json").stdout)] == ["demo"]


async def test_a_read_only_token_sees_the_setup_but_changes_nothing(wagate: Wagate) -> None:
    issued = await wagate.client.post("/api/v1/tokens", json={"name": "reader", "scopes": ["read"]})
    assert issued.status_code == 201, issued.text
    reader = {"Authorization": f"Bearer {issued.json()['token']}"}
    for path in ("/api/v1/organization", "/api/v1/business-accounts", "/api/v1/numbers"):
        assert (await wagate.client.get(path, headers=reader)).status_code == 200
    number = f"/api/v1/numbers/{wagate.phone_number_id}"
    for method, path, body in (
        ("PATCH", "/api/v1/organization", {"name": "Taken over"}),
        ("POST", "/api/v1/business-accounts", {"name": "Mine"}),
        ("POST", f"/api/v1/business-accounts/{wagate.waba_id}/subscribe", None),
        ("PATCH", number, {"rate": 1}),
        ("POST", f"{number}/refresh", None),
    ):
        refused = await wagate.client.request(method, path, json=body, headers=reader)
        assert refused.status_code == 403, (path, refused.text)
    assert (await wagate.client.get("/api/v1/organization")).json()["name"] == "Demo"
    assert (await wagate.client.get(number)).json()["rate"] == 80
