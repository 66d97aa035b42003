"""Two organizations, A and B: every route, called with B's token against A's objects, answers as if they did
not exist, reveals nothing of A and changes nothing of A.

`MATRIX` has an entry for every (route, method) of the app. The test fails when the app has a route the
matrix does not cover (a new route needs its entry here), and when an entry names a route the app does
not have, unless the entry is marked `pending` (a route being added). Entries say how to call the route:
`Call`s naming A's objects (the answer must be the one for an id that does not exist: not found under
`/api/v1`, Meta's unknown-object error on Graph paths), `Own` calls on B's own collections (the answer
must not carry anything of A), or `OutOfScope` with the reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import Wagate, make_settings, serving
from tests.factories import ORDER_UPDATE, OtherOrganization, make_organization, make_template
from tests.helpers import eventually
from tests.receiver import Receiver
from wagate.clock import SettableClock
from wagate.store.schema import metadata
from wagate.store.tenancy import org_by_slug
from wagate.web.app import create_app

GRAPH = "/v23.0"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
# What only A holds: none of it may appear in an answer to B.
MARKERS = ("Alice Secret", "secret text A", "secret reply A", "a-secret-hook", "a_secret_template", "495 555")
# Ids that exist nowhere, one per kind of object: what B's answers must look like.
MISSING = {
    "number": "100000000000001",
    "waba": "100000000000002",
    "template": "100000000000003",
    "media": "100000000000004",
    "wamid": "wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBJNSVNTSU5HAA==",
    "contact": "999999991",
    "conversation": "999999992",
    "subscription": "999999993",
    "delivery": "999999994",
    "download": "/v1/media/download/100000000000004",
    "token": "999999995",
    "operator": "999999996",
}


@dataclass(frozen=True)
class Call:
    """A request naming A's objects: `{kind}` in the path, query and body is replaced by A's id of that
    kind (or by a missing one, for the answer B's must equal)."""

    method: str
    path: str
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)
    upload: bool = False  # a multipart media upload
    # A's own token gets a 2xx for this read: the route would reveal A's object if it were not checked.
    control: bool = True


@dataclass(frozen=True)
class Own:
    """A request on B's own collection (or with A's ids as filters): nothing of A may come back."""

    method: str
    path: str
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OutOfScope:
    reason: str


@dataclass(frozen=True)
class Entry:
    calls: tuple[Call | Own, ...] = ()
    out_of_scope: OutOfScope | None = None
    pending: bool = False  # the route is being added; the entry is used once it exists


def calls(*items: Call | Own, pending: bool = False) -> Entry:
    return Entry(tuple(items), pending=pending)


def out(reason: str, pending: bool = False) -> Entry:
    return Entry(out_of_scope=OutOfScope(reason), pending=pending)


_SIMULATOR = "controls the simulated network (Meta's side), present only in the single-process `wagate serve`"
_TEMPLATE = {
    "name": "b_steals",
    "language": "en_US",
    "category": "UTILITY",
    "components": [{"type": "BODY", "text": "Hello"}],
}
_TEXT = {"messaging_product": "whatsapp", "to": "79161234567", "type": "text", "text": {"body": "hi"}}

MATRIX: dict[tuple[str, str], Entry] = {
    # -- operations, not an organization's data --------------------------------------------------------
    ("/healthz", "GET"): out("liveness of the process; no token, no organization's data"),
    ("/metrics", "GET"): out("process metrics for the operator's scraper; no organization's objects"),
    ("/openapi.json", "GET"): out("the API's description, the same for everyone"),
    ("/docs", "GET"): out("the API's documentation page, the same for everyone"),
    ("/docs/swagger-ui-bundle.js", "GET"): out("a file of the documentation page, the same for everyone"),
    ("/docs/swagger-ui.css", "GET"): out("a file of the documentation page, the same for everyone"),
    ("/docs/docs.js", "GET"): out("a file of the documentation page, the same for everyone"),
    ("/webhooks/meta", "GET"): out("Meta's verification handshake, checked by the app's verify token"),
    ("/webhooks/meta", "POST"): out(
        "Meta's webhook, authenticated by the app secret's signature, not a token"
    ),
    # -- wagate's API ---------------------------------------------------------------------------------
    ("/api/v1/going-live", "GET"): calls(Own("GET", "/api/v1/going-live")),
    ("/api/v1/messages", "GET"): calls(
        Own("GET", "/api/v1/messages", params={"q": "secret"}),
        Own("GET", "/api/v1/messages", params={"q": "secret", "phone_number_id": "{number}"}),
    ),
    ("/api/v1/messages/{wamid}", "GET"): calls(Call("GET", "/api/v1/messages/{wamid}")),
    ("/api/v1/conversations", "GET"): calls(
        Own("GET", "/api/v1/conversations", params={"phone_number_id": "{number}"})
    ),
    ("/api/v1/conversations/{id}", "GET"): calls(Call("GET", "/api/v1/conversations/{conversation}")),
    ("/api/v1/conversations/{id}", "PATCH"): calls(
        Call("PATCH", "/api/v1/conversations/{conversation}", json={"state": "resolved"})
    ),
    ("/api/v1/conversations/{id}/messages", "GET"): calls(
        Call("GET", "/api/v1/conversations/{conversation}/messages")
    ),
    ("/api/v1/contacts", "GET"): calls(Own("GET", "/api/v1/contacts", params={"q": "Alice"})),
    ("/api/v1/contacts", "POST"): calls(Own("POST", "/api/v1/contacts", json={"phone": "+79161234567"})),
    ("/api/v1/contacts/{id}", "GET"): calls(Call("GET", "/api/v1/contacts/{contact}")),
    ("/api/v1/contacts/{id}", "PATCH"): calls(
        Call("PATCH", "/api/v1/contacts/{contact}", json={"name": "Mallory"})
    ),
    ("/api/v1/contacts/{id}", "DELETE"): calls(Call("DELETE", "/api/v1/contacts/{contact}")),
    ("/api/v1/contacts/{id}/consent", "GET"): calls(Call("GET", "/api/v1/contacts/{contact}/consent")),
    ("/api/v1/contacts/{id}/consent", "POST"): calls(
        Call(
            "POST",
            "/api/v1/contacts/{contact}/consent",
            json={"purpose": "marketing", "action": "opt_out", "source": "api"},
        )
    ),
    ("/api/v1/consents/import", "POST"): calls(
        Own(
            "POST",
            "/api/v1/consents/import",
            json={
                "records": [
                    {"phone": "+79161234567", "purpose": "marketing", "action": "opt_out", "source": "b"}
                ]
            },
        )
    ),
    ("/api/v1/policy", "GET"): calls(Own("GET", "/api/v1/policy")),
    ("/api/v1/policy", "PATCH"): calls(Own("PATCH", "/api/v1/policy", json={"marketing_cap_per_week": 1})),
    ("/api/v1/retention", "GET"): calls(Own("GET", "/api/v1/retention")),
    ("/api/v1/retention", "PATCH"): calls(
        Own("PATCH", "/api/v1/retention", json={"message_retention_days": 1})
    ),
    ("/api/v1/retention/runs", "GET"): calls(Own("GET", "/api/v1/retention/runs")),
    ("/api/v1/erasures", "GET"): calls(Own("GET", "/api/v1/erasures")),
    ("/api/v1/webhooks/subscriptions", "GET"): calls(Own("GET", "/api/v1/webhooks/subscriptions")),
    ("/api/v1/webhooks/subscriptions", "POST"): calls(
        Call(
            "POST",
            "/api/v1/webhooks/subscriptions",
            json={"url": "https://b.example/hook", "phone_number_ids": ["{number}"]},
            control=False,
        )
    ),
    ("/api/v1/webhooks/subscriptions/{subscription_id}", "GET"): calls(
        Call("GET", "/api/v1/webhooks/subscriptions/{subscription}")
    ),
    ("/api/v1/webhooks/subscriptions/{subscription_id}", "PATCH"): calls(
        Call("PATCH", "/api/v1/webhooks/subscriptions/{subscription}", json={"active": False})
    ),
    ("/api/v1/webhooks/subscriptions/{subscription_id}", "DELETE"): calls(
        Call("DELETE", "/api/v1/webhooks/subscriptions/{subscription}")
    ),
    ("/api/v1/webhooks/subscriptions/{subscription_id}/replay", "POST"): calls(
        Call("POST", "/api/v1/webhooks/subscriptions/{subscription}/replay", json={})
    ),
    ("/api/v1/webhooks/deliveries", "GET"): calls(
        Own("GET", "/api/v1/webhooks/deliveries", params={"subscription_id": "{subscription}"})
    ),
    ("/api/v1/webhooks/deliveries/{delivery_id}/replay", "POST"): calls(
        Call("POST", "/api/v1/webhooks/deliveries/{delivery}/replay")
    ),
    ("/api/v1/organization", "GET"): calls(Own("GET", "/api/v1/organization")),
    ("/api/v1/organization", "PATCH"): calls(
        Own("PATCH", "/api/v1/organization", json={"name": "B renamed"})
    ),
    ("/api/v1/business-accounts", "GET"): calls(Own("GET", "/api/v1/business-accounts")),
    ("/api/v1/business-accounts", "POST"): calls(
        Own("POST", "/api/v1/business-accounts", json={"name": "B two"})
    ),
    ("/api/v1/business-accounts/{id}", "GET"): calls(Call("GET", "/api/v1/business-accounts/{waba}")),
    ("/api/v1/business-accounts/{id}", "PATCH"): calls(
        Call("PATCH", "/api/v1/business-accounts/{waba}", json={"name": "Mallory"})
    ),
    ("/api/v1/business-accounts/{id}", "DELETE"): calls(Call("DELETE", "/api/v1/business-accounts/{waba}")),
    ("/api/v1/business-accounts/{id}/subscribe", "POST"): calls(
        Call("POST", "/api/v1/business-accounts/{waba}/subscribe")
    ),
    ("/api/v1/business-accounts/{id}/subscribe", "DELETE"): calls(
        Call("DELETE", "/api/v1/business-accounts/{waba}/subscribe")
    ),
    ("/api/v1/numbers", "GET"): calls(Own("GET", "/api/v1/numbers")),
    ("/api/v1/numbers", "POST"): calls(
        Call(
            "POST",
            "/api/v1/numbers",
            json={"waba_id": "{waba}", "display_phone_number": "+7 812 555-09-09"},
            control=False,
        )
    ),
    ("/api/v1/numbers/{id}", "GET"): calls(Call("GET", "/api/v1/numbers/{number}")),
    ("/api/v1/numbers/{id}", "PATCH"): calls(Call("PATCH", "/api/v1/numbers/{number}", json={"rate": 1})),
    ("/api/v1/numbers/{id}/refresh", "POST"): calls(Call("POST", "/api/v1/numbers/{number}/refresh")),
    ("/api/v1/tokens", "GET"): calls(Own("GET", "/api/v1/tokens")),
    ("/api/v1/tokens", "POST"): calls(Own("POST", "/api/v1/tokens", json={"name": "b"})),
    ("/api/v1/tokens/{token_id}", "DELETE"): calls(Call("DELETE", "/api/v1/tokens/{token}")),
    ("/api/v1/audit", "GET"): calls(Own("GET", "/api/v1/audit")),
    ("/api/v1/audit/export", "GET"): calls(Own("GET", "/api/v1/audit/export")),
    ("/api/v1/operators", "GET"): calls(Own("GET", "/api/v1/operators"), pending=True),
    ("/api/v1/operators", "POST"): calls(
        Own("POST", "/api/v1/operators", json={"email": "b@b.example", "password": "b's long password"})
    ),
    ("/api/v1/operators/{operator_id}/totp", "POST"): calls(
        Call("POST", "/api/v1/operators/{operator}/totp", control=False)
    ),
    ("/api/v1/operators/{operator_id}/totp/confirm", "POST"): calls(
        Call("POST", "/api/v1/operators/{operator}/totp/confirm", json={"code": "123456"}, control=False)
    ),
    ("/api/v1/login", "POST"): out("signs an operator in with a password: takes no token, names no object"),
    ("/api/v1/logout", "POST"): out("ends the caller's own session: names no object", True),
    # -- the simulated network's controls ------------------------------------------------------------
    ("/api/v1/simulator/messages", "POST"): calls(
        Call(
            "POST",
            "/api/v1/simulator/messages",
            json={"phone_number_id": "{number}", "from": "79161234567", "text": "hi"},
            control=False,
        )
    ),
    ("/api/v1/simulator/preferences", "POST"): calls(
        Call(
            "POST",
            "/api/v1/simulator/preferences",
            json={"phone_number_id": "{number}", "wa_id": "79161234567", "value": "stop"},
            control=False,
        )
    ),
    ("/api/v1/simulator/messaging-tier", "POST"): calls(
        Call(
            "POST",
            "/api/v1/simulator/messaging-tier",
            json={"phone_number_id": "{number}", "tier": "TIER_1K"},
            control=False,
        )
    ),
    ("/api/v1/simulator/faults", "GET"): out(
        _SIMULATOR + "; network-wide fault rates, no organization's data"
    ),
    ("/api/v1/simulator/faults", "PUT"): out(
        _SIMULATOR + "; network-wide fault rates, no organization's data"
    ),
    ("/api/v1/simulator/stats", "GET"): out(_SIMULATOR + "; network-wide counters for demos and benchmarks"),
    ("/api/v1/simulator/templates/{template_id}/quality", "POST"): calls(
        Call("POST", "/api/v1/simulator/templates/{template}/quality", json={"quality": "RED"}, control=False)
    ),
    ("/api/v1/simulator/numbers/{number_id}/verification-code", "GET"): calls(
        Call("GET", "/api/v1/simulator/numbers/{number}/verification-code", control=False)
    ),
    # -- Meta's Cloud API ------------------------------------------------------------------------------
    ("/v1/media/download/{media_id}", "GET"): calls(Call("GET", "{download}")),
    ("/{version}/{object_id}", "GET"): calls(
        Call("GET", GRAPH + "/{number}"),
        Call("GET", GRAPH + "/{waba}"),
        Call("GET", GRAPH + "/{template}"),
        Call("GET", GRAPH + "/{media}"),
    ),
    ("/{version}/{object_id}", "POST"): calls(
        Call("POST", GRAPH + "/{template}", json={"components": [{"type": "BODY", "text": "Mallory"}]}),
        Call("POST", GRAPH + "/{number}", json={"display_phone_number": "+7 812 555-09-09"}),
    ),
    ("/{version}/{object_id}", "DELETE"): calls(Call("DELETE", GRAPH + "/{media}")),
    ("/{version}/{object_id}/messages", "POST"): calls(
        Call("POST", GRAPH + "/{number}/messages", json=_TEXT),
        Call(
            "POST",
            GRAPH + "/{number}/messages",
            json={"messaging_product": "whatsapp", "status": "read", "message_id": "{wamid}"},
        ),
    ),
    ("/{version}/{object_id}/media", "POST"): calls(Call("POST", GRAPH + "/{number}/media", upload=True)),
    ("/{version}/{waba_id}/message_templates", "GET"): calls(
        Call("GET", GRAPH + "/{waba}/message_templates")
    ),
    ("/{version}/{waba_id}/message_templates", "POST"): calls(
        Call("POST", GRAPH + "/{waba}/message_templates", json=_TEMPLATE)
    ),
    ("/{version}/{waba_id}/message_templates", "DELETE"): calls(
        Call("DELETE", GRAPH + "/{waba}/message_templates", params={"name": "a_secret_template"})
    ),
    ("/{version}/{object_id}/unpause", "POST"): calls(Call("POST", GRAPH + "/{template}/unpause")),
    ("/{version}/{object_id}/request_code", "POST"): calls(
        Call("POST", GRAPH + "/{number}/request_code", json={"code_method": "SMS", "language": "en_US"})
    ),
    ("/{version}/{object_id}/verify_code", "POST"): calls(
        Call("POST", GRAPH + "/{number}/verify_code", json={"code": "123456"})
    ),
    ("/{version}/{object_id}/register", "POST"): calls(
        Call("POST", GRAPH + "/{number}/register", json={"messaging_product": "whatsapp", "pin": "123456"})
    ),
    ("/{version}/{object_id}/deregister", "POST"): calls(Call("POST", GRAPH + "/{number}/deregister")),
    ("/{version}/{object_id}/whatsapp_business_profile", "GET"): calls(
        Call("GET", GRAPH + "/{number}/whatsapp_business_profile")
    ),
    ("/{version}/{object_id}/whatsapp_business_profile", "POST"): calls(
        Call(
            "POST",
            GRAPH + "/{number}/whatsapp_business_profile",
            json={"messaging_product": "whatsapp", "about": "Mallory"},
        )
    ),
}


def app_routes(w: Wagate) -> set[tuple[str, str]]:
    """Every (path, method) the app serves, HEAD aside (Starlette adds it to every GET)."""
    app: Any = create_app(w.rt)
    while hasattr(app, "app"):  # the Starlette app behind the body limits and the fast paths
        app = app.app
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        assert path is not None and methods, f"a route the matrix cannot read: {route!r}"
        found |= {(path, m) for m in methods if m != "HEAD"}
    return found


# -- the two organizations ----------------------------------------------------------------------------
@dataclass
class Setup:
    w: Wagate
    b: OtherOrganization
    ids: dict[str, str]
    a_org_id: int


@pytest.fixture
async def two(tmp_path: Path, clock: SettableClock) -> AsyncIterator[Setup]:
    receiver = await Receiver().start()
    settings = make_settings(tmp_path / "home", allow_private_targets=True)
    try:
        async with serving(settings, clock) as w:
            yield await _populate(w, receiver, clock)
    finally:
        await receiver.stop()


async def _populate(w: Wagate, receiver: Receiver, clock: SettableClock) -> Setup:
    a_org = w.rt.db.read_now(lambda c: org_by_slug(c, "demo"))
    assert a_org is not None
    c = w.client
    created = await c.post("/api/v1/webhooks/subscriptions", json={"url": receiver.url("/a-secret-hook")})
    assert created.status_code == 201, created.text
    contact = await c.post("/api/v1/contacts", json={"phone": "+79161234567", "name": "Alice Secret"})
    assert contact.status_code == 201, contact.text
    await w.customer_writes("79161234567", "secret text A", "Alice Secret")
    sent = await w.send({**_TEXT, "text": {"body": "secret reply A"}})
    assert sent.status_code == 200, sent.text
    reply = sent.json()["messages"][0]["id"]
    upload = await c.post(
        f"{GRAPH}/{w.phone_number_id}/media",
        data={"messaging_product": "whatsapp", "type": "image/png"},
        files={"file": ("a.png", PNG, "image/png")},
    )
    assert upload.status_code == 200, upload.text
    media_id = upload.json()["id"]
    described = (await c.get(f"{GRAPH}/{media_id}")).json()
    download = httpx.URL(described["url"])
    template_id = make_template(
        w.rt.db, a_org.id, int(w.waba_id), "a_secret_template", ORDER_UPDATE, now=clock.now()
    )
    await w.template_added(template_id)
    conversation = (await c.get("/api/v1/conversations")).json()["data"][0]["id"]

    async def read_and_delivered() -> list[Any] | None:
        if (await w.message(reply))["status"] != "read":
            return None
        deliveries = (await c.get("/api/v1/webhooks/deliveries")).json()["data"]
        done = deliveries and all(d["state"] == "delivered" for d in deliveries)
        return deliveries if done else None

    deliveries = await eventually(read_and_delivered)
    operator = await c.post(
        "/api/v1/operators", json={"email": "alice@a.example", "password": "Alice Secret's long password"}
    )
    assert operator.status_code == 201, operator.text
    token_id = (await c.get("/api/v1/tokens")).json()["data"][0]["id"]
    b = make_organization(w.rt.db, clock.now(), slug="rival")
    ids = {
        "number": w.phone_number_id,
        "waba": w.waba_id,
        "template": str(template_id),
        "media": media_id,
        "wamid": reply,
        "contact": str(contact.json()["id"]),
        "conversation": str(conversation),
        "subscription": str(created.json()["id"]),
        "delivery": str(deliveries[0]["id"]),
        "download": download.raw_path.decode(),
        "token": str(token_id),
        "operator": str(operator.json()["id"]),
    }
    return Setup(w, b, ids, a_org.id)


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        for kind, found in ids.items():
            value = value.replace("{" + kind + "}", found)
        return value
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


async def request(w: Wagate, call: Call | Own, ids: dict[str, str], token: str) -> httpx.Response:
    url = fill(call.path, ids)
    headers = {"Authorization": f"Bearer {token}"}
    params = fill(call.params, ids)
    if isinstance(call, Call) and call.upload:
        return await w.client.post(
            url,
            data={"messaging_product": "whatsapp", "type": "image/png"},
            files={"file": ("b.png", PNG, "image/png")},
            headers=headers,
        )
    body = None if call.json is None else fill(call.json, ids)
    # Without `params`, a query in `url` (the signed download URL's) is kept.
    return await w.client.request(call.method, url, json=body, params=params or None, headers=headers)


# The consumers' places in the event stream: no organization's data, and moved by the workers meanwhile.
WORKERS_OWN = frozenset({"event_consumers", "event_retries"})


def snapshot(s: Setup) -> dict[str, list[tuple[Any, ...]]]:
    """A's data: A's row of `organizations`, A's rows of every table with an organization, and every row
    of the others (B's calls in this test never write those). Times of last use are left out: they
    change on every request."""

    def read(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
        state = {}
        for table in metadata.sorted_tables:
            if table.name in WORKERS_OWN:
                continue
            columns = [c for c in table.columns if not c.name.startswith("last_used")]
            stmt = select(*columns)
            if "org_id" in table.c:
                stmt = stmt.where(table.c.org_id == s.a_org_id)
            elif table.name == "organizations":
                stmt = stmt.where(table.c.id == s.a_org_id)
            state[table.name] = sorted(conn.execute(stmt).all(), key=repr)
        return state

    return s.w.rt.db.read_now(read)


def refusal(response: httpx.Response) -> tuple[int, Any]:
    """What identifies a refusal: the status and the error's code."""
    try:
        error = response.json().get("error", {})
    except ValueError:
        return response.status_code, None
    return response.status_code, error.get("code") if isinstance(error, dict) else None


def looks_unknown(path: str, response: httpx.Response) -> bool:
    status, code = refusal(response)
    if path.startswith("/api/"):
        # Not found; or, where an id sits in a body or names a number, the error for an id that is not
        # the organization's (never a complaint about the request itself).
        return status == 404 or (status == 400 and code in ("graph_100", "unknown_phone_number"))
    return status in (400, 404) and code in (100, 33)


# -- the tests ------------------------------------------------------------------------------------------
def test_the_matrix_covers_every_route(wagate: Wagate) -> None:
    present = app_routes(wagate)
    uncovered = sorted(present - set(MATRIX))
    assert not uncovered, f"routes without an entry in MATRIX (add how B calls them against A): {uncovered}"
    stale = sorted(key for key, entry in MATRIX.items() if key not in present and not entry.pending)
    assert not stale, f"MATRIX entries for routes the app does not have (remove, or mark pending): {stale}"
    for key, entry in MATRIX.items():
        assert bool(entry.calls) != (entry.out_of_scope is not None), f"{key}: calls or a reason, not both"
        for call in entry.calls:
            assert call.method == key[1], f"{key}: a {call.method} call in the entry for {key[1]}"


async def test_b_cannot_read_nor_change_a(two: Setup) -> None:
    s = two
    present = app_routes(s.w)
    before = snapshot(s)
    checked = 0
    for key in sorted(present):
        for call in MATRIX[key].calls:
            where = f"{call.method} {call.path}"
            answer = await request(s.w, call, s.ids, s.b.token)
            for marker in MARKERS:
                assert marker not in answer.text, f"{where}: B's answer reveals {marker!r}: {answer.text}"
            if isinstance(call, Call):
                missing = await request(s.w, call, MISSING, s.b.token)
                assert looks_unknown(call.path, answer), f"{where}: {answer.status_code} {answer.text}"
                assert refusal(answer) == refusal(missing), (
                    f"{where}: A's object answers {answer.text}, a missing one {missing.text}"
                )
                if call.control and call.method == "GET":
                    mine = await request(s.w, call, s.ids, s.w.token)
                    assert mine.is_success, f"{where}: A's own read fails, so B's says nothing: {mine.text}"
            after = snapshot(s)
            changed = [name for name in before if before[name] != after.get(name)]
            assert not changed, f"{where} by B changed A's data in {changed}"
            checked += 1
    assert checked >= 40


async def test_a_still_reads_its_objects_after_b_tried(two: Setup) -> None:
    s = two
    for key in sorted(app_routes(s.w)):
        for call in MATRIX[key].calls:
            if isinstance(call, Call) and call.method != "GET":
                await request(s.w, call, s.ids, s.b.token)
    c = s.w.client
    assert (await c.get(f"/api/v1/contacts/{s.ids['contact']}")).json()["name"] == "Alice Secret"
    assert (await c.get(f"{GRAPH}/{s.ids['media']}")).status_code == 200
    assert (await c.get(f"/api/v1/webhooks/subscriptions/{s.ids['subscription']}")).json()["active"] is True
    templates = await c.get(f"{GRAPH}/{s.w.waba_id}/message_templates", params={"name": "a_secret_template"})
    assert [t["name"] for t in templates.json()["data"]] == ["a_secret_template"]
    assert (await c.get(f"/api/v1/messages/{s.ids['wamid']}")).status_code == 200
