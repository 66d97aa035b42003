"""Templates of `cloud` business accounts are created, edited and deleted at Meta (here: the fake Meta)
first, and changed in wagate only once Meta has accepted; a simulator account's stay wagate's own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Wagate, make_settings, serving
from tests.factories import CloudAccount
from tests.fake_meta import cloud_account, fake_meta_server, meta_account, meta_headers
from tests.helpers import eventually
from wagate.clock import SettableClock
from wagate.domain.template_rules import REVIEW_DELAY
from wagate.store.templates import CreateTemplate
from wagate.workers.template_reviewer import TemplateReviewer

ORDER_READY: dict[str, Any] = {
    "name": "order_ready",
    "language": "en_US",
    "category": "UTILITY",
    "components": [{"type": "BODY", "text": "Your order is ready for pickup at the counter today."}],
}
NEW_BODY = [{"type": "BODY", "text": "Your order is packed and ready for pickup at the counter."}]


@pytest.fixture
def clock() -> SettableClock:
    """A clock that stands still: the simulated reviewer decides only when a test moves it."""
    return SettableClock()


@pytest.fixture
def fake_meta(tmp_path: Path) -> Iterator[str]:
    with fake_meta_server(tmp_path) as url:
        yield url


class AtMeta:
    """A business account at the fake Meta and the same account in a running wagate."""

    def __init__(self, meta_url: str, meta: dict[str, str], wagate: Wagate, account: CloudAccount) -> None:
        self.meta_url = meta_url
        self.meta = meta
        self.wagate = wagate
        self.account = account
        self.headers = {"Authorization": f"Bearer {account.token}"}
        self.path = f"/v23.0/{meta['waba_id']}/message_templates"

    async def create(self, **changes: Any) -> httpx.Response:
        body = {**ORDER_READY, **changes}
        return await self.wagate.client.post(self.path, json=body, headers=self.headers)

    async def edit(self, template_id: str, body: dict[str, Any]) -> httpx.Response:
        return await self.wagate.client.post(f"/v23.0/{template_id}", json=body, headers=self.headers)

    async def delete(self, **params: str) -> httpx.Response:
        return await self.wagate.client.delete(self.path, params=params, headers=self.headers)

    async def here(self, template_id: str) -> httpx.Response:
        return await self.wagate.client.get(f"/v23.0/{template_id}", headers=self.headers)

    async def listed_here(self) -> dict[str, dict[str, Any]]:
        listed = await self.wagate.client.get(self.path, headers=self.headers)
        return {t["id"]: t for t in listed.json()["data"]}

    async def listed_at_meta(self) -> dict[str, dict[str, Any]]:
        async with httpx.AsyncClient() as client:
            listed = await client.get(f"{self.meta_url}{self.path}", headers=meta_headers(self.meta))
        return {t["id"]: t for t in listed.json()["data"]}

    async def send_at_meta(self, name: str, language: str) -> httpx.Response:
        """A template message sent straight to the fake Meta, whose simulated network checks it."""
        body = {
            "messaging_product": "whatsapp",
            "to": "+79161230001",
            "type": "template",
            "template": {"name": name, "language": {"code": language}},
        }
        async with httpx.AsyncClient() as client:
            return await client.post(
                f"{self.meta_url}/v23.0/{self.meta['phone_number_id']}/messages",
                json=body,
                headers=meta_headers(self.meta),
            )


@pytest.fixture
async def at_meta(tmp_path: Path, fake_meta: str, clock: SettableClock) -> AsyncIterator[AtMeta]:
    meta = meta_account(fake_meta)
    settings = make_settings(tmp_path / "home", graph_base_url=fake_meta, allow_private_targets=True)
    async with serving(settings, clock) as wagate:
        account = cloud_account(wagate.rt.db, clock.now(), meta)
        yield AtMeta(fake_meta, meta, wagate, account)


def _error(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


async def _nothing_left_to_review(at_meta: AtMeta, clock: SettableClock) -> None:
    clock.advance(REVIEW_DELAY + 1)
    assert await TemplateReviewer(at_meta.wagate.rt).review_due() == 0


# -- create -----------------------------------------------------------------------------------------
async def test_a_template_is_created_at_meta_and_kept_under_metas_id(
    at_meta: AtMeta, clock: SettableClock
) -> None:
    # Promotional words: Meta's review makes it MARKETING, and wagate keeps what Meta answered.
    body = [{"type": "BODY", "text": "Your order is ready; enjoy a discount on your next visit."}]
    created = await at_meta.create(components=body)
    assert created.status_code == 200, created.text
    answer = created.json()
    assert answer["status"] == "APPROVED" and answer["category"] == "MARKETING"

    at_meta_now = (await at_meta.listed_at_meta())[answer["id"]]
    assert (at_meta_now["name"], at_meta_now["language"]) == ("order_ready", "en_US")
    here = (await at_meta.here(answer["id"])).json()
    assert {k: here[k] for k in ("id", "name", "language", "status", "category", "components")} == {
        k: at_meta_now[k] for k in ("id", "name", "language", "status", "category", "components")
    }
    # The simulated network of the fake Meta sends by it at once.
    sent = await at_meta.send_at_meta("order_ready", "en_US")
    assert sent.status_code == 200, sent.text


async def test_a_template_meta_refuses_is_not_kept_and_the_caller_gets_metas_error(
    at_meta: AtMeta,
) -> None:
    first = await at_meta.create()
    assert first.status_code == 200, first.text
    async with httpx.AsyncClient() as client:  # deleted at Meta behind wagate's back: stale here
        await client.delete(
            f"{at_meta.meta_url}{at_meta.path}",
            params={"name": "order_ready"},
            headers=meta_headers(at_meta.meta),
        )
    spanish = {**ORDER_READY, "language": "es"}
    async with httpx.AsyncClient() as client:  # made at Meta, not through wagate
        made = await client.post(
            f"{at_meta.meta_url}{at_meta.path}", json=spanish, headers=meta_headers(at_meta.meta)
        )
    before = await at_meta.listed_here()

    refused = _error(await at_meta.create(language="es"))
    assert refused["code"] == 100
    assert refused["error_user_title"] == "Message template already exists"
    assert refused["error_user_msg"].startswith("There is already es content")
    assert refused["error_data"]["details"] == "name: a template named order_ready already exists in es"
    assert await at_meta.listed_here() == before
    assert made.json()["id"] not in before

    # Meta accepts what it no longer has: the stale copy here gives way to Meta's new template.
    again = await at_meta.create()
    assert again.status_code == 200, again.text
    assert set(await at_meta.listed_here()) == (set(before) - {first.json()["id"]}) | {again.json()["id"]}
    assert (await at_meta.here(first.json()["id"])).status_code == 400


async def test_a_template_wagate_refuses_never_reaches_meta(at_meta: AtMeta) -> None:
    refused = _error(await at_meta.create(name="Order Ready"))
    demo = f"/v23.0/{at_meta.wagate.waba_id}/message_templates"
    same = _error(await at_meta.wagate.client.post(demo, json={**ORDER_READY, "name": "Order Ready"}))
    assert (refused["code"], refused["error_data"]) == (same["code"], same["error_data"])
    assert [t["name"] for t in (await at_meta.listed_at_meta()).values()] == ["hello_world"]


# -- edit -------------------------------------------------------------------------------------------
async def test_an_edit_reaches_meta_and_then_applies_here(at_meta: AtMeta, clock: SettableClock) -> None:
    template_id = (await at_meta.create()).json()["id"]
    edited = await at_meta.edit(template_id, {"components": NEW_BODY})
    assert edited.json() == {"success": True}, edited.text

    at_meta_now = (await at_meta.listed_at_meta())[template_id]
    assert at_meta_now["components"] == NEW_BODY and at_meta_now["status"] == "APPROVED"
    here = (await at_meta.here(template_id)).json()
    assert here["components"] == NEW_BODY
    assert here["status"] == "PENDING"  # until Meta's status webhook tells the review's outcome
    await _nothing_left_to_review(at_meta, clock)  # Meta's to decide, never the simulated reviewer
    assert (await at_meta.here(template_id)).json()["status"] == "PENDING"


async def test_an_edit_meta_refuses_changes_nothing_here(at_meta: AtMeta) -> None:
    template_id = (await at_meta.create()).json()["id"]
    async with httpx.AsyncClient() as client:
        await client.delete(
            f"{at_meta.meta_url}{at_meta.path}",
            params={"name": "order_ready"},
            headers=meta_headers(at_meta.meta),
        )
    refused = _error(await at_meta.edit(template_id, {"components": NEW_BODY}))
    assert refused["code"] == 100 and refused["type"] == "GraphMethodException"
    assert refused["message"].startswith(f"Unsupported post request. Object with ID '{template_id}'")
    here = (await at_meta.here(template_id)).json()
    assert here["components"] == ORDER_READY["components"] and here["status"] == "APPROVED"


# -- delete -----------------------------------------------------------------------------------------
async def test_deletes_reach_meta_and_then_apply_here(at_meta: AtMeta) -> None:
    english = (await at_meta.create()).json()["id"]
    spanish = (await at_meta.create(language="es")).json()["id"]

    one = await at_meta.delete(name="order_ready", hsm_id=spanish)
    assert one.json() == {"success": True}, one.text
    assert spanish not in await at_meta.listed_at_meta()
    assert (await at_meta.here(spanish)).json()["status"] == "PENDING_DELETION"
    assert (await at_meta.here(english)).json()["status"] == "APPROVED"
    # The fake Meta's simulated network forgot it: a send of it is refused there.
    gone = await at_meta.send_at_meta("order_ready", "es")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == 132001, gone.text
    assert (await at_meta.send_at_meta("order_ready", "en_US")).status_code == 200

    every = await at_meta.delete(name="order_ready")
    assert every.json() == {"success": True}, every.text
    assert [t["name"] for t in (await at_meta.listed_at_meta()).values()] == ["hello_world"]
    assert (await at_meta.here(english)).json()["status"] == "PENDING_DELETION"


async def test_a_delete_meta_refuses_changes_nothing_here(at_meta: AtMeta, clock: SettableClock) -> None:
    number = at_meta.account.number
    only_here = CreateTemplate(
        number.org_id, number.waba_id, "order_ready", "en_US", "UTILITY", "APPROVED", NEW_BODY, clock.now()
    )
    template_id = str(at_meta.wagate.rt.db.write_now(only_here))
    refused = _error(await at_meta.delete(name="order_ready"))
    assert refused["code"] == 100
    assert refused["error_data"]["details"] == "name: no template named order_ready to delete"
    assert (await at_meta.here(template_id)).json()["status"] == "APPROVED"


# -- a simulator account is unchanged ---------------------------------------------------------------
async def test_a_simulator_accounts_template_is_still_reviewed_here(
    at_meta: AtMeta, clock: SettableClock
) -> None:
    wagate = at_meta.wagate
    created = await wagate.client.post(f"/v23.0/{wagate.waba_id}/message_templates", json=ORDER_READY)
    assert created.status_code == 200, created.text
    answer = created.json()
    assert answer["status"] == "PENDING"
    assert [t["name"] for t in (await at_meta.listed_at_meta()).values()] == ["hello_world"]
    clock.advance(REVIEW_DELAY + 1)

    async def reviewed() -> bool:
        template = (await wagate.client.get(f"/v23.0/{answer['id']}")).json()
        return bool(template["status"] == "APPROVED")

    await eventually(reviewed)
