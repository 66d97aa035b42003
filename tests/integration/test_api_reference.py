"""The API reference: `/openapi.json` describes every route the app serves and nothing else, it is a
valid OpenAPI 3.1 document, what the API answers validates against it, and `/docs` serves Swagger UI
from wagate itself."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate
from sqlalchemy import select

from tests.conftest import Wagate, make_settings, serving
from tests.factories import make_template
from tests.helpers import eventually
from wagate.clock import SettableClock
from wagate.store.schema import messages
from wagate.store.tenancy import org_by_slug
from wagate.web.app import create_app
from wagate.web.fast_paths import SERVED

GRAPH = "/v23.0"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
CUSTOMER = "79161234567"
_PARAM = re.compile(r"{[^}]+}")


def shape(path: str) -> str:
    """A path with its parameters unnamed: `/{version}/{object_id}` and `/{version}/{waba_id}` are one."""
    return _PARAM.sub("{}", path)


def served(w: Wagate) -> set[tuple[str, str]]:
    """Every (method, path shape) the app serves: its Starlette routes (HEAD aside) and the fast paths."""
    app: Any = create_app(w.rt)
    while not hasattr(app, "routes"):
        app = app.app  # through the middleware and the fast paths to the Starlette app
    found = {(m, shape(route.path)) for route in app.routes for m in route.methods if m != "HEAD"}
    return found | {(method, shape(path)) for method, path in SERVED}


async def reference(w: Wagate) -> dict[str, Any]:
    answer = await w.client.get("/openapi.json")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    document: dict[str, Any] = answer.json()
    return document


async def test_the_document_is_valid_openapi(wagate: Wagate) -> None:
    document = await reference(wagate)
    assert document["openapi"] == "3.1.0" and document["servers"] == [{"url": "/"}]
    validate(document)
    version = document["paths"]["/{version}/{phone_number_id}/messages"]["post"]["parameters"][0]
    assert version["schema"]["pattern"] == r"^v[0-9]+\.[0-9]+$" and version["example"] == "v23.0"


async def test_every_route_is_documented_and_nothing_else(wagate: Wagate) -> None:
    document = await reference(wagate)
    documented = {
        (method.upper(), shape(path))
        for path, operations in document["paths"].items()
        for method in operations
    }
    app = served(wagate)
    assert not app - documented, f"routes without an operation in the reference: {sorted(app - documented)}"
    assert not documented - app, f"operations the app does not serve: {sorted(documented - app)}"


async def test_every_operation_documents_its_errors(wagate: Wagate) -> None:
    document = await reference(wagate)
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            responses = op["responses"]
            if "requestBody" in op:
                assert "413" in responses, f"{where}: no 413 for a body too large"
            if op.get("security"):
                assert {"401", "403"} <= set(responses), f"{where}: no 401 or 403"
            if path.startswith("/{version}/") or path.startswith("/v1/"):
                assert {"400", "404", "405"} <= set(responses), f"{where}: no 400, 404 or 405"
            model = "ApiErrorBody" if path.startswith("/api/") else "MetaErrorBody"
            for status, response in responses.items():
                if (
                    int(status) >= 400
                    and status not in ("503",)
                    and "application/json" in response.get("content", {})
                ):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/" + model), f"{where} {status}: answers {ref}, not {model}"


# -- recorded answers against the document ----------------------------------------------------------
class Recorder:
    """Checks each answer against the document: its operation, its status, its content type and body."""

    def __init__(self, w: Wagate, document: dict[str, Any]) -> None:
        self.w = w
        self.document = document
        self.components = document["components"]
        # Concrete paths before templated ones, as OpenAPI matches them.
        self.paths = sorted(document["paths"], key=lambda p: (p.count("{"), p))
        self.checked: set[tuple[str, int]] = set()

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        for template in self.paths:
            pattern = (
                "^" + _PARAM.sub("[^/]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}")) + "$"
            )
            if re.match(pattern, path) and method.lower() in self.document["paths"][template]:
                return template, self.document["paths"][template][method.lower()]
        raise AssertionError(f"{method} {path}: no operation in the reference")

    def check(self, response: httpx.Response) -> httpx.Response:
        request = response.request
        template, op = self.operation(request.method, request.url.path)
        where = f"{request.method} {template} answered {response.status_code}"
        documented = op["responses"].get(str(response.status_code))
        assert documented is not None, (
            f"{where}: a status the reference does not name ({response.text[:300]})"
        )
        content = documented.get("content")
        if content is None:
            assert not response.content, f"{where}: a body where the reference says none"
        else:
            media_type = response.headers["content-type"].split(";")[0]
            assert media_type in content or "*/*" in content, f"{where}: {media_type}, not {list(content)}"
            if media_type == "application/json":
                schema = {**content[media_type]["schema"], "components": self.components}
                errors = sorted(
                    jsonschema.Draft202012Validator(schema).iter_errors(response.json()), key=lambda e: e.path
                )
                assert not errors, f"{where}: " + "; ".join(
                    f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]
                )
        self.checked.add((op["operationId"], response.status_code))
        return response

    def check_body(self, response: httpx.Response, component: str) -> None:
        """An answer of no operation (a path the app does not serve) against one of the components."""
        schema = {"$ref": f"#/components/schemas/{component}", "components": self.components}
        jsonschema.validate(response.json(), schema, cls=jsonschema.Draft202012Validator)

    async def call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.check(await self.w.client.request(method, url, **kwargs))


@pytest.fixture
async def w(tmp_path: Path, clock: SettableClock) -> AsyncIterator[Wagate]:
    # Subscriptions may name this machine: the walk's webhook target is a closed local port.
    async with serving(make_settings(tmp_path / "home", allow_private_targets=True), clock) as running:
        yield running


async def test_what_the_api_answers_matches_the_reference(w: Wagate, clock: SettableClock) -> None:
    r = Recorder(w, await reference(w))
    number, waba = w.phone_number_id, w.waba_id

    # -- operations and the reference itself --------------------------------------------------------
    for path in ("/healthz", "/metrics", "/openapi.json", "/docs", "/docs/docs.js"):
        assert (await r.call("GET", path)).status_code == 200

    # -- a customer writes; the business answers in every kind it sends ----------------------------
    written = await r.call(
        "POST", "/api/v1/simulator/messages", json={"phone_number_id": number, "from": CUSTOMER, "text": "Hi"}
    )
    assert written.status_code == 201
    upstream_id = written.json()["id"]

    async def received() -> str | None:
        row = w.rt.db.read_now(
            lambda c: c.execute(select(messages.c.wamid).where(messages.c.upstream_id == upstream_id)).first()
        )
        return None if row is None else str(row[0])

    inbound = await eventually(received)
    upload = await r.call(
        "POST",
        f"{GRAPH}/{number}/media",
        data={"messaging_product": "whatsapp", "type": "image/png"},
        files={"file": ("receipt.png", PNG, "image/png")},
    )
    media_id = upload.json()["id"]
    template_id = make_template(
        w.rt.db, _org_id(w), int(waba), "shop_hello", [{"type": "BODY", "text": "Hello from the shop"}]
    )
    await w.template_added(template_id)
    sends: list[dict[str, Any]] = [
        {"type": "text", "text": {"body": "Hello"}},
        {"type": "text", "text": {"body": "Yes"}, "context": {"message_id": inbound}},
        {"type": "image", "image": {"id": media_id, "caption": "Your receipt"}},
        {"type": "location", "location": {"latitude": 55.75, "longitude": 37.61, "name": "Shop"}},
        {"type": "contacts", "contacts": [{"name": {"formatted_name": "Anna P", "first_name": "Anna"}}]},
        {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Tomorrow?"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}}]},
            },
        },
        {"type": "template", "template": {"name": "shop_hello", "language": {"code": "en_US"}}},
        {"type": "reaction", "reaction": {"message_id": inbound, "emoji": "\N{THUMBS UP SIGN}"}},
    ]
    wamids = []
    for body in sends:
        sent = await r.call(
            "POST",
            f"{GRAPH}/{number}/messages",
            json={"messaging_product": "whatsapp", "to": CUSTOMER, **body},
        )
        assert sent.status_code == 200, sent.text
        wamids.append(sent.json()["messages"][0]["id"])
    for read in ({}, {"typing_indicator": {"type": "text"}}):
        marked = await r.call(
            "POST",
            f"{GRAPH}/{number}/messages",
            json={"messaging_product": "whatsapp", "status": "read", "message_id": inbound, **read},
        )
        assert marked.json() == {"success": True}
    keyed = {"Idempotency-Key": "walk-1"}
    text = {"messaging_product": "whatsapp", "to": CUSTOMER, "text": {"body": "once"}}
    assert (await r.call("POST", f"{GRAPH}/{number}/messages", json=text, headers=keyed)).status_code == 200
    other = {**text, "text": {"body": "twice"}}
    assert (await r.call("POST", f"{GRAPH}/{number}/messages", json=other, headers=keyed)).status_code == 409

    async def delivered() -> bool:
        return (await w.message(wamids[0]))["status"] in ("delivered", "read")

    await eventually(delivered)
    for wamid in (wamids[0], inbound):
        await r.call("GET", f"/api/v1/messages/{wamid}")
    await r.call("GET", "/api/v1/messages", params={"q": "hello"})

    # -- Graph objects, media, templates, the number's life at Meta ---------------------------------
    for object_id in (number, waba, str(template_id), media_id):
        await r.call("GET", f"{GRAPH}/{object_id}")
    described = await r.call("GET", f"{GRAPH}/{media_id}", params={"fields": "url,mime_type"})
    download = await r.call("GET", described.json()["url"])
    assert download.content == PNG
    assert (await r.call("DELETE", f"{GRAPH}/{media_id}")).json() == {"success": True}
    await r.call("GET", f"{GRAPH}/{waba}/message_templates", params={"limit": "1"})
    created = await r.call(
        "POST",
        f"{GRAPH}/{waba}/message_templates",
        json={
            "name": "walk_update",
            "language": "en_US",
            "category": "UTILITY",
            "components": [
                {"type": "BODY", "text": "Your order {{1}} has shipped.", "example": {"body_text": [["A-1"]]}}
            ],
        },
    )
    assert created.status_code == 200, created.text
    await r.call("GET", f"{GRAPH}/{waba}/message_templates", params={"name": "walk_update", "fields": "name"})
    quality = await r.call(
        "POST", f"/api/v1/simulator/templates/{template_id}/quality", json={"score": "RED"}
    )
    assert quality.json()["status"] == "PAUSED", quality.text
    assert (await r.call("POST", f"{GRAPH}/{template_id}/unpause")).status_code == 200
    edited = await r.call(
        "POST", f"{GRAPH}/{template_id}", json={"components": [{"type": "BODY", "text": "Hello again"}]}
    )
    assert edited.status_code == 200, edited.text
    deleted = await r.call("DELETE", f"{GRAPH}/{waba}/message_templates", params={"name": "walk_update"})
    assert deleted.status_code == 200, deleted.text
    await r.call("GET", f"{GRAPH}/{number}/whatsapp_business_profile")
    profile = {"messaging_product": "whatsapp", "about": "Open 9 to 18"}
    assert (
        await r.call("POST", f"{GRAPH}/{number}/whatsapp_business_profile", json=profile)
    ).status_code == 200
    await r.call("POST", f"{GRAPH}/{number}", json={"pin": "123456"})
    await r.call("POST", f"{GRAPH}/{number}/request_code", json={"code_method": "SMS", "language": "en_US"})
    code = (await r.call("GET", f"/api/v1/simulator/numbers/{number}/verification-code")).json()["code"]
    await r.call("POST", f"{GRAPH}/{number}/verify_code", json={"code": code})

    # -- contacts and consent -------------------------------------------------------------------------
    contact = await r.call("POST", "/api/v1/contacts", json={"phone": "+7 916 111-22-33", "name": "Anna"})
    assert contact.status_code == 201
    contact_id = contact.json()["id"]
    duplicate = await r.call("POST", "/api/v1/contacts", json={"phone": "+7 916 111-22-33"})
    assert duplicate.status_code == 409
    await r.call("GET", "/api/v1/contacts", params={"q": "anna"})
    await r.call("GET", f"/api/v1/contacts/{contact_id}")
    await r.call(
        "PATCH", f"/api/v1/contacts/{contact_id}", json={"add_tags": ["vip"], "attributes": {"n": 1}}
    )
    consent = {"purpose": "marketing", "action": "opt_in", "source": "web", "proof": "form"}
    assert (await r.call("POST", f"/api/v1/contacts/{contact_id}/consent", json=consent)).status_code == 201
    await r.call("GET", f"/api/v1/contacts/{contact_id}/consent")
    records = {"records": [{"phone": "+7 916 222-33-44", "purpose": "marketing", "action": "opt_in"}]}
    await r.call("POST", "/api/v1/consents/import", json=records)
    csv = b"phone,purpose,action\n+7 916 333-44-55,marketing,opt_out\n"
    await r.call("POST", "/api/v1/consents/import", content=csv, headers={"content-type": "text/csv"})
    await r.call("POST", "/api/v1/consents/import", content=b"x", headers={"content-type": "text/plain"})
    await r.call(
        "POST",
        "/api/v1/simulator/preferences",
        json={"phone_number_id": number, "wa_id": CUSTOMER, "value": "stop"},
    )

    # -- conversations, policy, retention ---------------------------------------------------------------
    conversation = (await r.call("GET", "/api/v1/conversations")).json()["data"][0]["id"]
    await r.call("GET", f"/api/v1/conversations/{conversation}")
    await r.call("GET", f"/api/v1/conversations/{conversation}/messages")
    await r.call(
        "PATCH", f"/api/v1/conversations/{conversation}", json={"state": "resolved", "assignee": "Bo"}
    )
    await r.call("GET", "/api/v1/policy")
    await r.call("PATCH", "/api/v1/policy", json={"marketing_per_day": 2, "marketing_per_week": 5})
    await r.call("GET", "/api/v1/retention")
    await r.call("PATCH", "/api/v1/retention", json={"message_retention_days": 365})
    await r.call("GET", "/api/v1/retention/runs")
    assert (await r.call("DELETE", f"/api/v1/contacts/{contact_id}")).json()["erased"] is True
    await r.call("GET", "/api/v1/erasures")

    # -- webhooks --------------------------------------------------------------------------------------
    hook = await r.call("POST", "/api/v1/webhooks/subscriptions", json={"url": "http://127.0.0.1:9/hook"})
    assert hook.status_code == 201, hook.text
    hook_id = hook.json()["id"]
    await r.call("GET", "/api/v1/webhooks/subscriptions")
    await r.call("GET", f"/api/v1/webhooks/subscriptions/{hook_id}")
    await r.call("PATCH", f"/api/v1/webhooks/subscriptions/{hook_id}", json={"max_concurrency": 2})
    await r.call("POST", f"/api/v1/webhooks/subscriptions/{hook_id}/replay", json={"state": "dead"})
    await r.call("GET", "/api/v1/webhooks/deliveries", params={"limit": "5"})
    assert (await r.call("DELETE", f"/api/v1/webhooks/subscriptions/{hook_id}")).status_code == 204

    # -- the organization, its accounts, numbers, tokens, operators, audit -----------------------------
    await r.call("GET", "/api/v1/organization")
    await r.call("PATCH", "/api/v1/organization", json={"name": "Demo shop"})
    await r.call("GET", "/api/v1/business-accounts")
    await r.call("GET", f"/api/v1/business-accounts/{waba}")
    await r.call("GET", "/api/v1/numbers")
    await r.call("GET", f"/api/v1/numbers/{number}")
    await r.call("PATCH", f"/api/v1/numbers/{number}", json={"rate": 40})
    await r.call("POST", f"/api/v1/numbers/{number}/refresh")
    await r.call("GET", "/api/v1/going-live")
    issued = await r.call("POST", "/api/v1/tokens", json={"name": "reader", "scopes": ["read"]})
    reader = issued.json()["token"]
    await r.call("GET", "/api/v1/tokens")
    forbidden = await r.call("GET", "/api/v1/tokens", headers={"Authorization": f"Bearer {reader}"})
    assert forbidden.status_code == 403
    assert (await r.call("DELETE", f"/api/v1/tokens/{issued.json()['id']}")).status_code == 204
    operator = await r.call(
        "POST", "/api/v1/operators", json={"email": "bo@shop.example", "password": "a long pass"}
    )
    assert operator.status_code == 201, operator.text
    await r.call("GET", "/api/v1/operators")
    await r.call("POST", f"/api/v1/operators/{operator.json()['id']}/totp")
    login = {"org": "demo", "email": "bo@shop.example", "password": "a long pass"}
    assert (await r.call("POST", "/api/v1/login", json=login)).status_code == 201
    assert (await r.call("POST", "/api/v1/login", json={**login, "password": "wrong"})).status_code == 401
    await r.call("GET", "/api/v1/audit", params={"limit": "3"})
    await r.call("GET", "/api/v1/audit/export", params={"format": "csv"})

    # -- the simulated network's controls ----------------------------------------------------------------
    await r.call("GET", "/api/v1/simulator/stats")
    await r.call("GET", "/api/v1/simulator/faults")
    await r.call("PUT", "/api/v1/simulator/faults", json={"duplicate_receipts": 0.0})

    # -- refusals: each in its surface's error object ------------------------------------------------------
    assert (
        await r.call("POST", f"{GRAPH}/{number}/messages", json={"messaging_product": "whatsapp"})
    ).status_code == 400
    assert (await r.call("GET", "/api/v1/contacts", params={"limit": "0"})).status_code == 400
    assert (await r.call("GET", f"{GRAPH}/{number}", headers={"Authorization": ""})).status_code == 401
    assert (
        await r.call("GET", "/api/v1/contacts", headers={"Authorization": "Bearer nope"})
    ).status_code == 401
    assert (await r.call("GET", "/api/v1/contacts/999999")).status_code == 404
    assert (await r.call("GET", "/api/v1/messages/wamid.none")).status_code == 404
    # A path no route serves is in no operation, and answers Meta's error object all the same.
    unknown = await r.w.client.get(f"{GRAPH}/{number}/unknown")
    assert unknown.status_code == 404
    r.check_body(unknown, "MetaErrorBody")
    not_allowed = await w.client.put(f"{GRAPH}/{number}")
    assert not_allowed.status_code == 405
    r.check_body(not_allowed, "MetaErrorBody")
    assert (await r.call("POST", "/api/v1/contacts", content=b"{" * (2 * 1024 * 1024))).status_code == 413

    statuses = {status for _, status in r.checked}
    assert {200, 201, 204, 400, 401, 403, 404, 409, 413, 415} <= statuses
    assert len({op for op, _ in r.checked}) >= 70


def _org_id(w: Wagate) -> int:
    org = w.rt.db.read_now(lambda conn: org_by_slug(conn, "demo"))
    assert org is not None
    return org.id


# -- /docs -------------------------------------------------------------------------------------------
ASSETS = {
    "/docs/swagger-ui-bundle.js": "text/javascript",
    "/docs/swagger-ui.css": "text/css",
    "/docs/docs.js": "text/javascript",
}


async def test_docs_serves_swagger_ui_from_wagate_itself(wagate: Wagate) -> None:
    page = await wagate.client.get("/docs", headers={"Authorization": ""})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts), (
        "an inline script"
    )
    for path, media_type in ASSETS.items():
        assert path in html or (path == "/docs/swagger-ui.css" and "swagger-ui.css" in html)
        asset = await wagate.client.get(path, headers={"Authorization": ""})
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(media_type), path
        assert len(asset.content) > 100
    start = (await wagate.client.get("/docs/docs.js")).text
    assert '"/openapi.json"' in start and "tryItOutEnabled: true" in start and "validatorUrl: null" in start
    for text in (html, start):
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]", text, re.I), "a reference to another host"
