"""API tokens: scopes on every route family, expiry, revocation, issuing over the API and the CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Wagate, serving
from tests.factories import make_organization
from tests.helpers import run_cli
from wagate.clock import SettableClock
from wagate.settings import Settings

HELLO = {
    "messaging_product": "whatsapp",
    "to": "+16505551234",
    "type": "template",
    "template": {"name": "hello_world", "language": {"code": "en_US"}},
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def issue(w: Wagate, *scopes: str, token: str | None = None, **extra: Any) -> dict[str, Any]:
    response = await w.client.post(
        "/api/v1/tokens",
        json={"name": "-".join(scopes) or "all", "scopes": list(scopes), **extra},
        headers={} if token is None else bearer(token),
    )
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


# One request of each route family, and the scope it needs.
def family_requests(w: Wagate) -> list[tuple[str, str, str, dict[str, Any] | None]]:
    pn, waba = w.phone_number_id, w.waba_id
    return [
        ("send", "POST", f"/v23.0/{pn}/messages", HELLO),
        ("send", "POST", f"/v23.0/{pn}/media", None),
        ("read", "GET", f"/v23.0/{pn}", None),
        ("read", "GET", f"/v23.0/{waba}/message_templates", None),
        ("manage", "POST", f"/v23.0/{waba}/message_templates", {"name": "x"}),
        ("read", "GET", "/api/v1/messages/wamid.nothing", None),
        ("read", "GET", "/api/v1/conversations", None),
        ("read", "GET", "/api/v1/contacts", None),
        ("manage", "POST", "/api/v1/contacts", {"phone": "+7 916 111-22-33"}),
        ("manage", "POST", "/api/v1/consents/import", {"records": []}),
        ("read", "GET", "/api/v1/policy", None),
        ("manage", "PATCH", "/api/v1/policy", {}),
        ("read", "GET", "/api/v1/webhooks/deliveries", None),
        ("read", "GET", "/api/v1/webhooks/subscriptions", None),
        ("manage", "POST", "/api/v1/webhooks/subscriptions", {"url": "http://x"}),
        ("manage", "GET", "/api/v1/tokens", None),
        ("manage", "GET", "/api/v1/audit", None),
        ("manage", "POST", "/api/v1/operators", {"email": "a@example.com", "password": "correct horse"}),
    ]


@pytest.mark.parametrize("scope", ["send", "read", "manage"])
async def test_each_route_family_needs_its_scope(wagate: Wagate, scope: str) -> None:
    token = (await issue(wagate, scope))["token"]
    for needed, method, path, body in family_requests(wagate):
        response = await wagate.client.request(method, path, json=body, headers=bearer(token))
        where = f"{method} {path} with a {scope} token"
        if needed != scope:
            assert response.status_code == 403, where
            error = response.json()["error"]
            if path.startswith("/api/v1/"):
                assert error["code"] == "forbidden" and needed in error["message"], where
            else:
                assert error["code"] == 200 and error["type"] == "OAuthException", where
                assert needed in error["message"] and error["fbtrace_id"], where
        else:
            assert response.status_code not in (401, 403), f"{where}: {response.text}"


async def test_a_send_token_sends_and_a_read_token_reads_it(wagate: Wagate) -> None:
    send, read = (await issue(wagate, "send"))["token"], (await issue(wagate, "read"))["token"]
    sent = await wagate.client.post(
        f"/v23.0/{wagate.phone_number_id}/messages", json=HELLO, headers=bearer(send)
    )
    assert sent.status_code == 200, sent.text
    wamid = sent.json()["messages"][0]["id"]
    assert (await wagate.client.get(f"/api/v1/messages/{wamid}", headers=bearer(read))).status_code == 200
    refused = await wagate.client.get(f"/api/v1/messages/{wamid}", headers=bearer(send))
    assert refused.status_code == 403


async def test_a_token_without_scopes_has_all_of_them(wagate: Wagate) -> None:
    listed = (await wagate.client.get("/api/v1/tokens")).json()["data"]
    assert [t["scopes"] for t in listed] == [["send", "read", "manage"]]  # the bootstrap token
    assert listed[0]["state"] == "active" and "token" not in listed[0]
    issued = await issue(wagate)
    assert issued["scopes"] == ["send", "read", "manage"] and issued["expires_at"] is None


async def test_an_expired_token_is_refused_as_meta_refuses_an_expired_session(
    wagate: Wagate, clock: SettableClock
) -> None:
    issued = await issue(wagate, "send", "read", expires_in="1h")
    assert issued["expires_at"] == pytest.approx(clock.now() + 3600, abs=5)
    headers = bearer(issued["token"])
    assert (await wagate.client.get(f"/v23.0/{wagate.phone_number_id}", headers=headers)).status_code == 200

    clock.advance(3601)
    graph = await wagate.client.get(f"/v23.0/{wagate.phone_number_id}", headers=headers)
    assert graph.status_code == 401
    error = graph.json()["error"]
    assert error["code"] == 190 and error["error_subcode"] == 463 and error["type"] == "OAuthException"
    assert error["message"].startswith("Error validating access token: Session has expired on ")
    api = await wagate.client.get("/api/v1/conversations", headers=headers)
    assert api.status_code == 401 and api.json()["error"]["code"] == "unauthorized"
    listed = (await wagate.client.get("/api/v1/tokens")).json()["data"]
    assert [t["state"] for t in listed if t["id"] == issued["id"]] == ["expired"]


async def test_a_revoked_token_is_refused_at_once(wagate: Wagate) -> None:
    issued = await issue(wagate, "read")
    headers = bearer(issued["token"])
    assert (await wagate.client.get("/api/v1/conversations", headers=headers)).status_code == 200
    revoked = await wagate.client.delete(f"/api/v1/tokens/{issued['id']}")
    assert revoked.status_code == 204
    refused = await wagate.client.get("/api/v1/conversations", headers=headers)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    again = await wagate.client.delete(f"/api/v1/tokens/{issued['id']}")
    assert again.status_code == 404


async def test_an_organization_cannot_revoke_or_see_another_ones_tokens(wagate: Wagate) -> None:
    other = make_organization(wagate.rt.db, wagate.rt.clock.now())
    theirs = (await wagate.client.get("/api/v1/tokens", headers=bearer(other.token))).json()["data"]
    ours = (await wagate.client.get("/api/v1/tokens")).json()["data"]
    assert {t["id"] for t in theirs}.isdisjoint({t["id"] for t in ours})

    refused = await wagate.client.delete(f"/api/v1/tokens/{theirs[0]['id']}")
    assert refused.status_code == 404
    still = await wagate.client.get("/api/v1/conversations", headers=bearer(other.token))
    assert still.status_code == 200


async def test_a_token_issues_only_scopes_it_has(wagate: Wagate) -> None:
    manager = (await issue(wagate, "manage"))["token"]
    for asked in (["send"], ["manage", "read"], []):
        response = await wagate.client.post(
            "/api/v1/tokens", json={"name": "more", "scopes": asked}, headers=bearer(manager)
        )
        assert response.status_code == 403, asked
        assert response.json()["error"]["code"] == "forbidden"
    assert (await issue(wagate, "manage", token=manager))["scopes"] == ["manage"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scopes": ["admin"]},
        {"name": "", "scopes": ["read"]},
        {"name": "x", "expires_in": "soon"},
        {"name": "x", "expires_in": 0},
        {"scopes": ["read"]},
    ],
)
async def test_bad_token_requests_change_nothing(wagate: Wagate, body: dict[str, Any]) -> None:
    before = (await wagate.client.get("/api/v1/tokens")).json()["data"]
    response = await wagate.client.post("/api/v1/tokens", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] in ("invalid_request", "invalid_parameter")
    assert (await wagate.client.get("/api/v1/tokens")).json()["data"] == before


async def test_cli_issues_lists_and_revokes_scoped_tokens(settings: Settings, clock: SettableClock) -> None:
    async with serving(settings, clock) as w:
        out = run_cli(
            settings.home, "tokens", "issue", "--org", "demo", "--name", "crm", "--scope", "read",
            "--expires-in", "30d", "--json",
        )  # fmt: skip
        issued = json.loads(out)
        assert issued["scopes"] == ["read"] and issued["expires_at"] > clock.now() + 29 * 86400
        headers = bearer(issued["token"])
        assert (await w.client.get("/api/v1/contacts", headers=headers)).status_code == 200
        assert (await w.client.post("/api/v1/contacts", json={}, headers=headers)).status_code == 403

        listed = json.loads(run_cli(settings.home, "tokens", "list", "--json"))
        crm = next(t for t in listed if t["id"] == issued["id"])
        assert crm["scopes"] == ["read"] and crm["state"] == "active" and crm["slug"] == "demo"
        assert issued["token"] not in run_cli(settings.home, "tokens", "list")

        run_cli(settings.home, "tokens", "revoke", str(issued["id"]))
        w.rt.tokens.clear()  # as the 5-second cache of a running server would, in time
        assert (await w.client.get("/api/v1/contacts", headers=headers)).status_code == 401
