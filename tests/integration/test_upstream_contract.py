"""One contract for every upstream behind `upstreams/base.Upstream`: the simulator in process, and the
`cloud` upstream talking to the fake Meta (`wagate simulator` over HTTP, its signed webhooks received
here). The same tests run over both; only how a test reaches the network's other side differs (a
customer writing, the code "sent" by SMS, a number just added at Meta), and that lives in the fixtures.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from aiohttp import web

from tests.files import FileServer
from tests.helpers import free_port, wagate_env
from wagate.clock import SystemClock
from wagate.domain.tenancy import NumberRef
from wagate.media import samples
from wagate.settings import Settings, SimulatorSettings
from wagate.upstreams.base import MetaRefusal, TemplateCopy, Upstream, UpstreamError
from wagate.upstreams.cloud import CloudUpstream
from wagate.upstreams.simulator import SimulatorUpstream

CUSTOMER = "16505551234"
NOT_A_USER = "16505550000"  # Meta's test range: accepted, then failed with 131026
FAST = {"sent_delay": 0.02, "delivered_delay": 0.04, "read_delay": 0.06}
HELLO = {
    "name": "hello_world",
    "language": "en_US",
    "category": "UTILITY",
    "components": [{"type": "BODY", "text": "Hello from the simulated WhatsApp network."}],
}
WITHIN = 15.0


@dataclass
class Network:
    """An upstream with one registered number, and the network's other side."""

    upstream: Upstream
    number: NumberRef
    # Every change of every webhook envelope the upstream reported (statuses, customers' messages).
    changes: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    # The ids of the templates the tests added, by name.
    template_ids: dict[str, int] = field(default_factory=dict)
    customer_writes: Callable[[NumberRef, str, str], Awaitable[None]] = field(default=None)  # type: ignore[assignment]
    code_sent: Callable[[NumberRef], Awaitable[str | None]] = field(default=None)  # type: ignore[assignment]
    new_number: Callable[[], Awaitable[NumberRef]] = field(default=None)  # type: ignore[assignment]
    add_template: Callable[[NumberRef, dict[str, Any]], Awaitable[None]] = field(default=None)  # type: ignore[assignment]

    async def ingest(self, body: bytes) -> None:
        envelope = msgspec.json.decode(body)
        for entry in envelope.get("entry", []):
            self.changes += [change["value"] for change in entry.get("changes", [])]
        self.arrived.set()

    async def until(self, found: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first change `found` accepts, waiting for the upstream to report it (bounded)."""
        async with asyncio.timeout(WITHIN):
            while True:
                for change in self.changes:
                    if found(change):
                        return change
                self.arrived.clear()
                await self.arrived.wait()

    async def status(self, upstream_id: str, status: str) -> dict[str, Any]:
        def matches(change: dict[str, Any]) -> bool:
            return any(s["id"] == upstream_id and s["status"] == status for s in change.get("statuses", []))

        change = await self.until(matches)
        return next(s for s in change["statuses"] if s["id"] == upstream_id and s["status"] == status)


def image_send(to: str, link: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "image", "image": {"link": link}}


def template_send(to: str, name: str = "hello_world", language: str = "en_US") -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": {"name": name, "language": {"code": language}},
        "biz_opaque_callback_data": "contract-test",
    }


# -- the simulator in process -----------------------------------------------------------------------
@contextlib.asynccontextmanager
async def in_process() -> AsyncIterator[Network]:
    # Private targets allowed, as at the fake Meta below: the media links tests serve are on loopback.
    simulator = SimulatorUpstream(
        SystemClock(), SimulatorSettings(**FAST, journal=False), None, allow_private=True
    )
    number = NumberRef(101_000_001, "+1 650 555 0100", 201_000_001, 80)
    network = Network(simulator, number)
    numbers = iter(range(101_000_002, 101_000_100))

    async def customer_writes(to: NumberRef, wa_id: str, text: str) -> None:
        message = {"type": "text", "text": {"body": text}}
        await simulator.customer_message(to, wa_id, "Customer", message)

    async def code_sent(to: NumberRef) -> str | None:
        return simulator.sent_code(to)

    async def new_number() -> NumberRef:
        ref = NumberRef(next(numbers), "+1 650 555 0101", number.waba_id, 80)
        # wagate records a number added at Meta as neither verified nor registered; the simulator follows.
        await simulator.follow(ref, verified=False, registered=False)
        return ref

    async def add_template(to: NumberRef, body: dict[str, Any]) -> None:
        # The simulator's accounts keep their templates in wagate, reviewed there, told by sync.
        template_id = network.template_ids[body["name"]] = 301_000_000 + len(network.template_ids)
        simulator.sync_template(TemplateCopy(
            to.waba_id, template_id, body["name"], body["language"], "APPROVED", body["category"],
            "positional", body["components"],
        ))  # fmt: skip

    network.customer_writes, network.code_sent = customer_writes, code_sent
    network.new_number, network.add_template = new_number, add_template
    await simulator.start(network.ingest)
    simulator.sync_account(number.waba_id, None)
    await add_template(number, HELLO)
    try:
        yield network
    finally:
        await simulator.close()


# -- the cloud upstream and the fake Meta ----------------------------------------------------------
@contextlib.contextmanager
def fake_meta(home: Path, webhook_url: str) -> Iterator[str]:
    port = free_port()
    log = (home / "fake-meta.log").open("wb")
    command = [sys.executable, "-m", "wagate", "simulator", "--port", str(port), "--app-secret", "s"]
    env = wagate_env(
        home / "unused",
        WAGATE_ALLOW_PRIVATE_TARGETS="true",
        **{f"WAGATE_SIMULATOR_{k.upper()}": str(v) for k, v in FAST.items()},
    )
    process = subprocess.Popen(
        [*command, "--webhook-url", webhook_url, "--home", str(home / "sim")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError(f"the fake Meta did not start: {(home / 'fake-meta.log').read_text()}")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@contextlib.asynccontextmanager
async def at_fake_meta(home: Path) -> AsyncIterator[Network]:
    receiver = web.Application()
    webhook_port = free_port()
    tokens: dict[int, str] = {}

    async def token_for(waba_id: int) -> str | None:
        return tokens.get(waba_id)

    with fake_meta(home, f"http://127.0.0.1:{webhook_port}/webhooks/meta") as url:
        cloud = CloudUpstream(
            Settings(home=home, graph_base_url=url, allow_private_targets=True, send_timeout=5.0), token_for
        )
        async with httpx.AsyncClient(base_url=url) as control:

            async def add_number(registered: bool = True) -> NumberRef:
                answer = (
                    await control.post(
                        "/api/v1/simulator/numbers", json={"messaging_limit": None, "registered": registered}
                    )
                ).json()
                ref = NumberRef(
                    int(answer["phone_number_id"]), answer["display_phone_number"], int(answer["waba_id"]), 80
                )
                tokens[ref.waba_id] = answer["access_token"]
                return ref

            network = Network(cloud, await add_number())

            async def webhook(request: web.Request) -> web.Response:
                await network.ingest(await request.read())
                return web.Response(text="ok")

            receiver.router.add_post("/webhooks/meta", webhook)
            runner = web.AppRunner(receiver)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", webhook_port).start()

            async def customer_writes(to: NumberRef, wa_id: str, text: str) -> None:
                action = {"phone_number_id": str(to.id), "from": wa_id, "text": text}
                answer = await control.post("/api/v1/simulator/messages", json=action)
                assert answer.status_code == 201, answer.text

            async def code_sent(to: NumberRef) -> str | None:
                # Meta sends it by SMS; the fake Meta shows it on its control API.
                answer = await control.get(f"/api/v1/simulator/numbers/{to.id}/verification-code")
                return str(answer.json()["code"]) if answer.status_code == 200 else None

            async def new_number() -> NumberRef:
                return await add_number(registered=False)

            async def add_template(to: NumberRef, body: dict[str, Any]) -> None:
                # Meta holds the account's templates and reviews them.
                created = await cloud.create_template(to.waba_id, body)
                assert created["status"] == "APPROVED"
                network.template_ids[body["name"]] = int(created["id"])

            network.customer_writes, network.code_sent = customer_writes, code_sent
            network.new_number, network.add_template = new_number, add_template
            await cloud.start(network.ingest)
            try:
                yield network
            finally:
                await cloud.close()
                await runner.cleanup()


@pytest.fixture(params=["simulator", "cloud"])
async def network(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Network]:
    running = in_process() if request.param == "simulator" else at_fake_meta(tmp_path)
    async with running as started:
        yield started


# -- sending ----------------------------------------------------------------------------------------
async def test_a_send_returns_an_id_and_its_receipts_come_back(network: Network) -> None:
    upstream_id = await network.upstream.send(network.number, template_send(CUSTOMER))
    assert upstream_id
    for status in ("sent", "delivered", "read"):
        reported = await network.status(upstream_id, status)
        assert reported["recipient_id"] == CUSTOMER
        assert reported["biz_opaque_callback_data"] == "contract-test"


async def test_an_unknown_template_is_refused_with_132001(network: Network) -> None:
    with pytest.raises(UpstreamError) as refused:
        await network.upstream.send(network.number, template_send(CUSTOMER, name="no_such_template"))
    assert refused.value.code == 132001


async def test_a_send_to_someone_not_on_whatsapp_fails_with_131026(network: Network) -> None:
    upstream_id = await network.upstream.send(network.number, template_send(NOT_A_USER))
    failed = await network.status(upstream_id, "failed")
    assert failed["errors"][0]["code"] == 131026


async def test_a_customers_message_arrives_and_can_be_marked_read(network: Network) -> None:
    await network.customer_writes(network.number, CUSTOMER, "hello there")
    change = await network.until(
        lambda c: any(m.get("text", {}).get("body") == "hello there" for m in c.get("messages", []))
    )
    message = change["messages"][0]
    assert message["from"] == CUSTOMER
    assert change["metadata"]["phone_number_id"] == str(network.number.id)
    assert change["metadata"]["display_phone_number"] == network.number.digits
    await network.upstream.mark_read(network.number, message["id"], typing=True)


async def test_media_sent_by_link_is_fetched_and_fails_with_131053_when_it_cannot_be(
    network: Network,
) -> None:
    files = await FileServer().start()
    try:
        await network.customer_writes(network.number, CUSTOMER, "send me the photo")
        photo = files.put("/photo.png", samples.png(), "image/png")
        delivered = await network.upstream.send(network.number, image_send(CUSTOMER, photo))
        missing = await network.upstream.send(network.number, image_send(CUSTOMER, files.url("/gone.png")))
        assert (await network.status(delivered, "read"))["recipient_id"] == CUSTOMER
        failed = await network.status(missing, "failed")
    finally:
        await files.stop()
    assert failed["errors"][0]["code"] == 131053
    assert (
        failed["errors"][0]["error_data"]["details"]
        == f"Media link {files.url('/gone.png')} answered HTTP 404."
    )
    assert files.requests == {"/photo.png": 1, "/gone.png": 1}


async def test_media_uploaded_can_be_downloaded(network: Network) -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"contract" * 16
    media_id = await network.upstream.upload_media(network.number, data, "image/png", "a.png")
    assert media_id
    body, mime = await network.upstream.download_media(network.number, media_id)
    assert (body, mime) == (data, "image/png")


# -- a number's life ------------------------------------------------------------------------------
async def test_a_new_number_is_verified_registered_and_given_a_profile(network: Network) -> None:
    upstream = network.upstream
    number = await network.new_number()
    assert (await upstream.number_fields(number, None))["code_verification_status"] != "VERIFIED"
    assert await upstream.request_code(number, {"code_method": "SMS", "language": "en_US"}) == {
        "success": True
    }
    code = await network.code_sent(number)
    assert code is not None and len(code) == 6
    assert await upstream.verify_code(number, {"code": code}) == {"success": True}
    assert await upstream.register(number, {"messaging_product": "whatsapp", "pin": "123456"}) == {
        "success": True
    }
    described = await upstream.number_fields(number, None)
    assert described["code_verification_status"] == "VERIFIED"
    assert described["status"] == "CONNECTED"
    about = {"messaging_product": "whatsapp", "about": "Open 9-5", "email": "hi@example.com"}
    assert await upstream.update_business_profile(number, about) == {"success": True}
    profile = await upstream.business_profile(number, "about,email")
    assert profile["data"][0]["about"] == "Open 9-5"
    assert profile["data"][0]["email"] == "hi@example.com"


async def test_a_wrong_code_is_refused_with_metas_error_object(network: Network) -> None:
    number = await network.new_number()
    await network.upstream.request_code(number, {"code_method": "SMS", "language": "en_US"})
    code = await network.code_sent(number)
    assert code is not None
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(MetaRefusal) as refused:
        await network.upstream.verify_code(number, {"code": wrong})
    assert refused.value.code == 136025
    assert refused.value.error["code"] == 136025


async def test_registering_before_verifying_is_refused(network: Network) -> None:
    number = await network.new_number()
    with pytest.raises(MetaRefusal) as refused:
        await network.upstream.register(number, {"messaging_product": "whatsapp", "pin": "123456"})
    assert refused.value.code == 133006


async def test_a_display_name_request_waits_for_review(network: Network) -> None:
    answer = await network.upstream.update_number(network.number, {"new_display_name": "Acme Support"})
    assert answer == {"success": True}
    described = await network.upstream.number_fields(network.number, None)
    assert described["new_name_status"] == "PENDING_REVIEW"


# -- templates and sync ---------------------------------------------------------------------------
async def test_a_template_reviewed_where_the_account_keeps_it_can_be_sent(network: Network) -> None:
    body = {
        "name": "order_ready",
        "language": "en_US",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Your order is ready."}],
    }
    await network.add_template(network.number, body)
    upstream_id = await network.upstream.send(network.number, template_send(CUSTOMER, name="order_ready"))
    assert (await network.status(upstream_id, "delivered"))["recipient_id"] == CUSTOMER


async def test_templates_at_meta_are_listed_there_and_nowhere_else(network: Network) -> None:
    upstream = network.upstream
    if upstream.at_meta:
        page = await upstream.template_page(network.number.waba_id, {"limit": "100"})
        assert "hello_world" in {t["name"] for t in page["data"]}
    else:
        # wagate keeps the account's templates: the upstream has none of its own to list.
        with pytest.raises(UpstreamError):
            await upstream.template_page(network.number.waba_id, {"limit": "100"})


async def test_a_template_dropped_from_the_copy_is_refused_where_a_copy_is_kept(network: Network) -> None:
    """Sync tells an upstream that keeps a copy; one at Meta holds its own and sync changes nothing."""
    upstream = network.upstream
    await network.add_template(network.number, {**HELLO, "name": "to_drop"})
    upstream.drop_template(network.template_ids["to_drop"])
    upstream.sync_account(network.number.waba_id, None)
    if upstream.at_meta:
        assert await upstream.send(network.number, template_send(CUSTOMER, name="to_drop"))
    else:
        with pytest.raises(UpstreamError) as refused:
            await upstream.send(network.number, template_send(CUSTOMER, name="to_drop"))
        assert refused.value.code == 132001
