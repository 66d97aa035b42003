"""A business number's life on Meta's Graph paths: request and verify a code, register with the two-step
PIN, send, deregister (sends refused), register again; the business profile; Meta's errors for a wrong
code, a wrong PIN, bad parameters and another organization's number. A `simulator` number is answered by
the in-process simulator; a `cloud` number's calls are relayed to Meta (here: the fake Meta)."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Wagate, make_settings, serving
from tests.factories import CloudAccount, make_organization
from tests.fake_meta import cloud_account, fake_meta_server, meta_account, meta_headers
from tests.helpers import eventually, wagate_env
from wagate.clock import SettableClock
from wagate.services.template_sync import do_sync_templates
from wagate.settings import Settings
from wagate.upstreams.cloud import CloudUpstream

PIN = "246810"
HELLO = {
    "messaging_product": "whatsapp",
    "to": "+16505551234",
    "type": "template",
    "template": {"name": "hello_world", "language": {"code": "en_US"}},
}
SUCCESS = {"success": True}


def error_of(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert isinstance(error["message"], str) and error["fbtrace_id"]
    return error


class Number:
    """One business number, called as a business calls wagate's Graph paths."""

    def __init__(self, client: httpx.AsyncClient, number_id: str, headers: dict[str, str]) -> None:
        self.client = client
        self.id = number_id
        self.headers = headers

    async def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post(f"/v23.0/{self.id}{path}", json=body, headers=self.headers)

    async def get(self, path: str = "", **params: str) -> httpx.Response:
        return await self.client.get(f"/v23.0/{self.id}{path}", params=params, headers=self.headers)

    async def request_code(self) -> httpx.Response:
        return await self.post("/request_code", {"code_method": "SMS", "language": "en_US"})

    async def verify(self, code: str) -> httpx.Response:
        return await self.post("/verify_code", {"code": code})

    async def register(self, pin: str = PIN) -> httpx.Response:
        return await self.post("/register", {"messaging_product": "whatsapp", "pin": pin})

    async def send(self) -> httpx.Response:
        return await self.post("/messages", HELLO)

    async def fields(self) -> dict[str, Any]:
        fields = "code_verification_status,status,name_status,new_name_status,verified_name"
        response = await self.get(fields=fields)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# -- a simulator number ---------------------------------------------------------------------------------
async def simulator_code(wagate: Wagate) -> str:
    response = await wagate.client.get(
        f"/api/v1/simulator/numbers/{wagate.phone_number_id}/verification-code"
    )
    assert response.status_code == 200, response.text
    return str(response.json()["code"])


async def test_a_simulator_number_is_verified_registered_deregistered_and_registered_again(
    wagate: Wagate,
) -> None:
    number = Number(wagate.client, wagate.phone_number_id, {})
    assert (await number.fields())["status"] == "CONNECTED"  # the demo number is live from the start

    assert (await number.request_code()).json() == SUCCESS
    code = await simulator_code(wagate)
    assert error_of(await number.verify(other_code(code)))["code"] == 136025
    assert (await number.verify(code)).json() == SUCCESS
    assert (await number.fields())["code_verification_status"] == "VERIFIED"

    assert (await number.register()).json() == SUCCESS
    assert (await number.send()).status_code == 200

    assert (await number.post("/deregister")).json() == SUCCESS
    assert (await number.fields())["status"] == "DISCONNECTED"
    refused = error_of(await number.send())
    assert refused["code"] == 133010 and refused["message"] == "(#133010) Phone number not registered"
    # Deregistering twice: Meta's error, nothing changes.
    assert error_of(await number.post("/deregister"))["code"] == 100

    # The two-step PIN set at the first registration is needed to register again.
    assert error_of(await number.register("135790"))["code"] == 133005
    assert error_of(await number.send())["code"] == 133010
    assert (await number.register()).json() == SUCCESS
    assert (await number.fields())["status"] == "CONNECTED"
    assert (await number.send()).status_code == 200

    # Each change Meta accepted is in the organization's audit log; refusals and the PIN are not.
    audit = await wagate.client.get("/api/v1/audit", params={"order": "oldest", "limit": "100"})
    assert audit.status_code == 200, audit.text
    actions = [row["action"] for row in audit.json()["data"] if row["action"].startswith("number.")]
    verbs = ["request_code", "verify", "register", "deregister", "register"]
    assert actions == [f"number.{verb}" for verb in verbs]
    assert PIN not in audit.text


async def test_a_new_two_step_pin_is_the_one_registration_needs(wagate: Wagate) -> None:
    number = Number(wagate.client, wagate.phone_number_id, {})
    assert (await number.register()).json() == SUCCESS
    assert error_of(await number.post("", {"pin": "12ab56"}))["code"] == 100
    assert (await number.post("", {"pin": "112233"})).json() == SUCCESS
    assert (await number.post("/deregister")).json() == SUCCESS
    assert error_of(await number.register(PIN))["code"] == 133005
    assert (await number.register("112233")).json() == SUCCESS
    audit = await wagate.client.get("/api/v1/audit", params={"action": "number.set_pin"})
    assert len(audit.json()["data"]) == 1 and "112233" not in audit.text


async def test_lifecycle_parameters_are_checked_by_metas_rules(wagate: Wagate) -> None:
    number = Number(wagate.client, wagate.phone_number_id, {})
    bad_method = error_of(await number.post("/request_code", {"code_method": "EMAIL", "language": "en_US"}))
    assert bad_method["code"] == 100 and "code_method" in bad_method["error_data"]["details"]
    assert error_of(await number.post("/request_code", {"code_method": "SMS"}))["code"] == 100
    assert error_of(await number.verify("12345"))["code"] == 100
    assert error_of(await number.post("/register", {"pin": PIN}))["code"] == 100  # no messaging_product
    assert error_of(await number.register("1234567"))["code"] == 100
    # Verifying before any code was requested: Meta cannot verify it.
    assert error_of(await number.verify("123456"))["code"] == 136025


async def test_a_display_name_change_waits_for_review(wagate: Wagate) -> None:
    number = Number(wagate.client, wagate.phone_number_id, {})
    assert error_of(await number.post("", {"new_display_name": "X"}))["code"] == 100
    assert (await number.post("", {"new_display_name": "Demo Bakery"})).json() == SUCCESS
    fields = await number.fields()
    assert fields["new_name_status"] == "PENDING_REVIEW" and fields["verified_name"] == "Demo"


async def test_the_business_profile_is_read_and_changed_and_bad_values_change_nothing(
    wagate: Wagate,
) -> None:
    number = Number(wagate.client, wagate.phone_number_id, {})
    profile = {
        "messaging_product": "whatsapp",
        "about": "Fresh bread every morning",
        "address": "1 Baker Street",
        "description": "A neighbourhood bakery.",
        "email": "hello@bakery.example",
        "websites": ["https://bakery.example"],
        "vertical": "RESTAURANT",
    }
    assert (await number.post("/whatsapp_business_profile", profile)).json() == SUCCESS
    read = await number.get("/whatsapp_business_profile")
    assert read.status_code == 200, read.text
    assert read.json() == {"data": [profile]}

    invalid: list[dict[str, Any]] = [
        {"about": ""},
        {"about": "a" * 140},
        {"description": "d" * 513},
        {"address": "a" * 257},
        {"email": "not an email"},
        {"websites": ["https://a.example", "https://b.example", "https://c.example"]},
        {"websites": ["bakery.example"]},
        {"vertical": "BAKERY"},
        {"colour": "blue"},
    ]
    for change in invalid:
        error = error_of(
            await number.post("/whatsapp_business_profile", {"messaging_product": "whatsapp", **change})
        )
        assert error["code"] == 100, change
    assert error_of(await number.post("/whatsapp_business_profile", {"about": "No product"}))["code"] == 100
    assert (await number.get("/whatsapp_business_profile")).json() == {"data": [profile]}

    only = await number.get("/whatsapp_business_profile", fields="about,vertical")
    assert only.json() == {"data": [{"about": profile["about"], "vertical": "RESTAURANT"}]}
    assert error_of(await number.get("/whatsapp_business_profile", fields="colour"))["code"] == 100


async def test_another_organizations_number_is_an_unknown_object(wagate: Wagate) -> None:
    other = make_organization(wagate.rt.db, wagate.rt.clock.now())
    number = Number(wagate.client, str(other.number.id), {})
    calls = [
        number.request_code(),
        number.verify("123456"),
        number.register(),
        number.post("/deregister"),
        number.post("", {"pin": PIN}),
        number.get("/whatsapp_business_profile"),
        number.post("/whatsapp_business_profile", {"messaging_product": "whatsapp", "about": "Mine now"}),
    ]
    for call in calls:
        error = error_of(await call)
        assert error["code"] == 100 and error["type"] == "GraphMethodException"
        assert str(other.number.id) in error["message"]
    # Still registered and unchanged for its owner.
    mine = Number(wagate.client, str(other.number.id), {"Authorization": f"Bearer {other.token}"})
    assert (await mine.fields())["status"] == "CONNECTED"
    assert (await mine.get("/whatsapp_business_profile")).json() == {
        "data": [{"messaging_product": "whatsapp"}]
    }


# -- a cloud number, relayed to the fake Meta -----------------------------------------------------------
@pytest.fixture
def fake_meta(tmp_path: Path) -> Iterator[str]:
    with fake_meta_server(tmp_path) as url:
        yield url


class AtMeta:
    def __init__(
        self, meta_url: str, meta: dict[str, str], wagate: Wagate, account: CloudAccount | None
    ) -> None:
        self.meta_url = meta_url
        self.meta = meta
        self.wagate = wagate
        headers = {} if account is None else {"Authorization": f"Bearer {account.token}"}
        self.number = Number(wagate.client, meta["phone_number_id"], headers)

    async def code(self) -> str:
        async with httpx.AsyncClient() as client:
            url = f"{self.meta_url}/api/v1/simulator/numbers/{self.meta['phone_number_id']}/verification-code"
            response = await client.get(url)
        assert response.status_code == 200, response.text
        return str(response.json()["code"])

    async def at_meta(self, path: str = "", **params: str) -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await client.get(
                f"{self.meta_url}/v23.0/{self.meta['phone_number_id']}{path}",
                params=params,
                headers=meta_headers(self.meta),
            )

    async def accepted_at_meta(self) -> int:
        async with httpx.AsyncClient() as client:
            return int((await client.get(f"{self.meta_url}/api/v1/simulator/stats")).json()["accepted"])


@pytest.fixture
async def at_meta(tmp_path: Path, fake_meta: str, clock: SettableClock) -> AsyncIterator[AtMeta]:
    """A number just added at the fake Meta (unverified, unregistered) and the same number in wagate."""
    meta = meta_account(fake_meta, registered=False)
    settings = make_settings(tmp_path / "home", graph_base_url=fake_meta, allow_private_targets=True)
    async with serving(settings, clock) as wagate:
        account = cloud_account(wagate.rt.db, clock.now(), meta)
        yield AtMeta(fake_meta, meta, wagate, account)


async def test_a_cloud_numbers_life_is_relayed_to_meta(at_meta: AtMeta) -> None:
    number = at_meta.number
    # Not registered at Meta yet: wagate relays the send and Meta fails it with its error.
    sent = await number.send()
    assert sent.status_code == 200, sent.text
    wamid = sent.json()["messages"][0]["id"]

    async def failed() -> dict[str, Any] | None:
        found = await at_meta.wagate.client.get(f"/api/v1/messages/{wamid}", headers=number.headers)
        message: dict[str, Any] = found.json()
        return message if message["status"] == "failed" else None

    assert (await eventually(failed))["error"]["code"] == 133010

    assert (await number.request_code()).json() == SUCCESS
    code = await at_meta.code()
    wrong = error_of(await number.verify(other_code(code)))
    assert wrong["code"] == 136025
    assert (await at_meta.at_meta()).json()["code_verification_status"] == "UNVERIFIED"
    assert (await number.fields())["code_verification_status"] == "UNVERIFIED"
    # Meta refuses to register an unverified number; nothing changes.
    assert error_of(await number.register())["code"] == 133006
    assert (await number.fields())["status"] == "PENDING"
    assert (await number.verify(code)).json() == SUCCESS
    assert (await number.fields())["code_verification_status"] == "VERIFIED"

    assert (await number.register()).json() == SUCCESS
    assert (await at_meta.at_meta()).json()["status"] == "CONNECTED"
    before = await at_meta.accepted_at_meta()
    assert (await number.send()).status_code == 200

    async def reached_meta() -> bool:
        return await at_meta.accepted_at_meta() == before + 1

    await eventually(reached_meta)

    assert (await number.post("/deregister")).json() == SUCCESS
    assert (await at_meta.at_meta()).json()["status"] == "DISCONNECTED"
    assert (await number.fields())["status"] == "DISCONNECTED"
    assert error_of(await number.send())["code"] == 133010
    assert error_of(await number.register("135790"))["code"] == 133005
    assert (await number.register()).json() == SUCCESS
    assert (await number.send()).status_code == 200


async def test_a_cloud_numbers_business_profile_is_metas(at_meta: AtMeta) -> None:
    number = at_meta.number
    change = {"messaging_product": "whatsapp", "about": "Open 8 to 8", "websites": ["https://shop.example"]}
    assert (await number.post("/whatsapp_business_profile", change)).json() == SUCCESS
    at_meta_now = await at_meta.at_meta("/whatsapp_business_profile")
    assert at_meta_now.json() == {"data": [change]}
    assert (await number.get("/whatsapp_business_profile")).json() == at_meta_now.json()
    bad = {"messaging_product": "whatsapp", "about": "x" * 140}
    assert error_of(await number.post("/whatsapp_business_profile", bad))["code"] == 100
    assert (await at_meta.at_meta("/whatsapp_business_profile")).json() == {"data": [change]}


# -- docs/going-live.md, replayed against the fake Meta -----------------------------------------------
GUIDE = Path(__file__).parents[2] / "docs" / "going-live.md"
GUIDE_HOST = "https://wagate.example.com"
GUIDE_DISPLAY = "+1 650 555 0100"


@dataclass(frozen=True)
class Curl:
    method: str
    url: str
    body: str | None
    answer: str | None  # the answer the guide shows under the call


def _complete(command: str) -> bool:
    try:
        shlex.split(command)
    except ValueError:  # a quote still open: the command goes on
        return False
    return True


def guide_calls() -> list[Curl]:
    """Every curl call the guide makes to wagate, in order, with the answers it shows."""
    calls = []
    for block in re.findall(r"```\n(curl .*?)```", GUIDE.read_text(), re.S):
        lines = block.strip().splitlines()
        command = ""
        while lines:  # up to the end of the command: no trailing backslash, no quote left open
            line = lines.pop(0)
            command += " " + line.rstrip("\\")
            if not line.endswith("\\") and _complete(command):
                break
        args = shlex.split(command)
        method, body, url = "GET", None, ""
        for i, arg in enumerate(args):
            if arg == "-X":
                method = args[i + 1]
            elif arg == "-d":
                body = args[i + 1]
            elif arg.startswith(GUIDE_HOST):
                url = arg.removeprefix(GUIDE_HOST)
        calls.append(Curl(method, url, body, lines[0] if lines else None))
    return calls


async def test_going_live(fake_meta: str, clock: SettableClock, tmp_path: Path) -> None:
    """docs/going-live.md, steps 3 to 7, for a number just added at (the fake) Meta, by the guide's own
    calls: the demo organization takes the number on."""
    settings = make_settings(tmp_path / "home", graph_base_url=fake_meta, allow_private_targets=True)
    async with serving(settings, clock) as wagate:
        await _follow_the_guide(wagate, fake_meta, settings)


async def _missing(wagate: Wagate) -> list[tuple[str, str]]:
    """The going-live checks that fail (`GET /api/v1/going-live`), as (check, subject)."""
    response = await wagate.client.get("/api/v1/going-live")
    assert response.status_code == 200, response.text
    answer = response.json()
    missing = [(c["check"], c["subject"]) for c in answer["checks"] if not c["ok"]]
    assert answer["ready"] == (not missing)
    return missing


async def _follow_the_guide(wagate: Wagate, fake_meta: str, settings: Settings) -> None:
    meta = meta_account(fake_meta, registered=False)
    values = {
        "$WABA": meta["waba_id"],
        "$NUMBER": meta["phone_number_id"],
        "$META_TOKEN": meta["access_token"],
        "$VERIFY_TOKEN": settings.meta_verify_token,
        GUIDE_DISPLAY: meta["display_phone_number"],
    }
    calls = guide_calls()
    assert [c.url.split("?")[0] for c in calls] == [
        "/api/v1/business-accounts",
        "/api/v1/numbers",
        "/webhooks/meta",
        "/api/v1/business-accounts/$WABA/subscribe",
        "/v23.0/$NUMBER/request_code",
        "/v23.0/$NUMBER/verify_code",
        "/v23.0/$NUMBER/register",
        "/v23.0/$NUMBER",
        "/v23.0/$NUMBER/whatsapp_business_profile",
        "/v23.0/$NUMBER/whatsapp_business_profile",
        "/v23.0/$NUMBER/messages",
    ]
    at_meta = AtMeta(fake_meta, meta, wagate, None)
    before = await at_meta.accepted_at_meta()
    for call in calls:
        url, body = call.url, call.body
        for name, value in values.items():
            url = url.replace(name, value)
            body = None if body is None else body.replace(name, value)
        if url.endswith("/verify_code"):
            body = json.dumps({"code": await at_meta.code()})  # the code the phone received
        if url.endswith("/messages"):  # the guide's `wagate templates sync`, before the first send
            cloud = wagate.rt.upstreams["cloud"]
            assert isinstance(cloud, CloudUpstream)
            assert [s.error for s in await do_sync_templates(wagate.rt, cloud)] == [None]
        headers = {"Content-Type": "application/json"} if body else {}
        response = await wagate.client.request(call.method, url, content=body, headers=headers)
        assert response.status_code in (200, 201), (call.url, response.text)
        if call.answer is not None:
            assert response.text.replace(" ", "") == call.answer.replace(" ", ""), call.url
        if url == "/api/v1/numbers":
            # Added, not yet live: the checks say what is missing.
            missing = await _missing(wagate)
            assert ("app_subscribed", f"account {meta['waba_id']}") in missing
            assert ("registered", f"number {meta['phone_number_id']}") in missing
        if url.startswith(f"/v23.0/{meta['phone_number_id']}?fields="):
            described = response.json()
            assert described["code_verification_status"] == "VERIFIED" and described["status"] == "CONNECTED"
        if call.method == "GET" and "whatsapp_business_profile" in url:
            assert response.json()["data"][0]["vertical"] == "RESTAURANT"

    async def sent_at_meta() -> bool:
        return await at_meta.accepted_at_meta() == before + 1

    await eventually(sent_at_meta)
    assert await _missing(wagate) == []
    async with httpx.AsyncClient() as client:
        subscribed = await client.get(
            f"{fake_meta}/v23.0/{meta['waba_id']}/subscribed_apps", headers=meta_headers(meta)
        )
    assert subscribed.json()["data"], subscribed.text


async def test_the_going_live_checks_ask_meta_and_say_what_is_missing(at_meta: AtMeta) -> None:
    """`GET /api/v1/going-live` and `wagate accounts check`: an unregistered number and an app not
    subscribed are reported with what to do; a token Meta refuses is reported as such."""
    headers = at_meta.number.headers
    answer = (await at_meta.wagate.client.get("/api/v1/going-live", headers=headers)).json()
    by_check = {(c["check"], c["subject"]): c for c in answer["checks"]}
    number, waba = at_meta.meta["phone_number_id"], at_meta.meta["waba_id"]
    assert not answer["ready"]
    assert by_check[("meta_accepts_token", f"number {number}")]["ok"]
    assert not by_check[("registered", f"number {number}")]["ok"]
    assert "register" in by_check[("registered", f"number {number}")]["fix"]
    assert not by_check[("app_subscribed", f"account {waba}")]["ok"]

    # A token Meta does not know: the command (a process of its own) asks Meta with it.
    changed = await at_meta.wagate.client.patch(
        f"/api/v1/business-accounts/{waba}", json={"access_token": "EAAG-revoked-token"}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    settings = at_meta.wagate.rt.settings
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "wagate", "accounts", "check", "--org", "cloud-shop", "--json"],
        env=wagate_env(
            settings.home,
            WAGATE_GRAPH_BASE_URL=settings.graph_base_url,
            WAGATE_ALLOW_PRIVATE_TARGETS="true",
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    refused = {(c["check"], c["subject"]): c for c in json.loads(result.stdout)["checks"]}
    token = refused[("meta_accepts_token", f"number {number}")]
    assert not token["ok"] and "190" in token["detail"] and "system-user token" in token["fix"]
