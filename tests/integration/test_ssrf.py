"""Server-side request forgery: every URL wagate calls on someone's say-so is refused when it leads to a
private address, by literal address in any spelling, by a name that resolves to one (now or later), or by
a redirect, and nothing reaches a receiver listening on the loopback address.

No test touches the internet: names resolve through a `StaticResolver` table (`resolving_with`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import Wagate, make_settings, serving
from tests.factories import make_cloud_organization
from tests.helpers import eventually
from tests.receiver import Receiver
from wagate.clock import SettableClock
from wagate.errors import GraphError
from wagate.media.fetch import fetch_link
from wagate.net.addresses import StaticResolver, UnsafeTarget, resolving_with

PUBLIC = "93.184.216.34"  # an address of the public internet, never connected to here


def private_forms(port: int) -> list[str]:
    """One URL per way of writing, or naming, an address that is not public."""
    return [
        f"http://127.0.0.1:{port}/hook",
        f"http://localhost:{port}/hook",
        f"http://[::1]:{port}/hook",
        "http://10.20.30.40/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        f"http://0.0.0.0:{port}/hook",
        f"http://[::ffff:127.0.0.1]:{port}/hook",
        f"http://2130706433:{port}/hook",  # 127.0.0.1 as one decimal number
        f"http://0x7f.1:{port}/hook",  # hex, two parts
        f"http://0177.0.0.1:{port}/hook",  # octal
        f"http://127.1:{port}/hook",
        f"http://public.example@127.0.0.1:{port}/hook",  # a user name that looks like the host
        "http://internal.example.test/hook",  # a name of a private address
        f"http://loopback.example.test:{port}/hook",
    ]


NOT_HTTP = ["ftp://files.example.test/a.png", "file:///etc/passwd", "gopher://127.0.0.1:70/"]


@pytest.fixture
def names() -> Iterator[StaticResolver]:
    table = StaticResolver(
        {
            "localhost": ["127.0.0.1"],
            "internal.example.test": ["10.0.0.5"],
            "loopback.example.test": ["127.0.0.1"],
            "public.example.test": [PUBLIC],
            # Public when the subscription is made, the loopback address when wagate delivers.
            "rebind.example.test": [PUBLIC, "127.0.0.1"],
        }
    )
    with resolving_with(table):
        yield table


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = await Receiver().start()
    yield started
    await started.stop()


@pytest.fixture
async def guarded(
    tmp_path: Path, clock: SettableClock, names: StaticResolver, receiver: Receiver
) -> AsyncIterator[Wagate]:
    """wagate as deployed: private targets refused."""
    async with serving(make_settings(tmp_path / "home", allow_private_targets=False), clock) as w:
        yield w


# -- webhook subscriptions ------------------------------------------------------------------------------
async def test_subscriptions_to_private_targets_are_refused(guarded: Wagate, receiver: Receiver) -> None:
    for url in [*private_forms(receiver.port), *NOT_HTTP]:
        for kind in ("wagate", "meta"):
            body: dict[str, Any] = {"url": url, "format": kind}
            if kind == "meta":
                body["verify_token"] = "token"
            response = await guarded.client.post("/api/v1/webhooks/subscriptions", json=body)
            assert response.status_code == 400, (url, response.text)
            assert response.json()["error"]["code"] == "unsafe_target", (url, response.text)
    assert (await guarded.client.get("/api/v1/webhooks/subscriptions")).json()["data"] == []
    assert receiver.requests == []


async def test_a_subscription_cannot_be_moved_to_a_private_target(
    guarded: Wagate, receiver: Receiver
) -> None:
    created = await guarded.client.post(
        "/api/v1/webhooks/subscriptions", json={"url": "http://public.example.test/hook"}
    )
    assert created.status_code == 201, created.text
    path = f"/api/v1/webhooks/subscriptions/{created.json()['id']}"
    for url in private_forms(receiver.port):
        response = await guarded.client.patch(path, json={"url": url})
        assert response.status_code == 400 and response.json()["error"]["code"] == "unsafe_target", url
    assert (await guarded.client.get(path)).json()["url"] == "http://public.example.test/hook"


async def test_a_name_that_turns_private_after_the_subscription_is_refused_at_delivery(
    guarded: Wagate, receiver: Receiver, names: StaticResolver
) -> None:
    url = f"http://rebind.example.test:{receiver.port}/hook"
    created = await guarded.client.post("/api/v1/webhooks/subscriptions", json={"url": url})
    assert created.status_code == 201, created.text  # it resolved to a public address then
    await guarded.customer_writes("79161234567", "Hello")

    async def refused() -> list[Any] | None:
        deliveries = (await guarded.client.get("/api/v1/webhooks/deliveries")).json()["data"]
        tried = [d for d in deliveries if d["last_error"]]
        return tried or None

    tried = await eventually(refused)
    assert "127.0.0.1" in tried[0]["last_error"] and "not a public address" in tried[0]["last_error"]
    assert tried[0]["state"] != "delivered"
    assert names.asked.count("rebind.example.test") >= 2
    assert receiver.requests == []


@pytest.fixture
async def redirector(receiver: Receiver) -> AsyncIterator[str]:
    """A server on a second port answering every request with a redirect to the receiver."""

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(receiver.url("/stolen"))

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", redirect)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_a_redirect_is_never_followed_by_deliveries(
    tmp_path: Path, clock: SettableClock, receiver: Receiver, redirector: str
) -> None:
    # Loopback allowed so that the redirecting endpoint itself can be reached: the redirect must still
    # not be followed, as its target would skip the address checks.
    settings = make_settings(tmp_path / "home", allow_private_targets=True, webhook_retry_base=0.05)
    async with serving(settings, clock) as w:
        created = await w.client.post(
            "/api/v1/webhooks/subscriptions", json={"url": f"http://{redirector}/hook"}
        )
        assert created.status_code == 201, created.text
        await w.customer_writes("79161234567", "Hello")

        async def answered() -> list[Any] | None:
            deliveries = (await w.client.get("/api/v1/webhooks/deliveries")).json()["data"]
            return [d for d in deliveries if d["last_status_code"] == 302] or None

        await eventually(answered)
    assert receiver.requests == []


# -- media links ------------------------------------------------------------------------------------------
async def test_sends_with_media_links_to_private_targets_are_refused(
    guarded: Wagate, receiver: Receiver
) -> None:
    # wagate passes links to the upstream, which fetches them (as Meta does): an address written in the
    # link is refused here, whatever its spelling; names are the upstream's to resolve.
    literal = [u for u in private_forms(receiver.port) if ".example.test" not in u and "localhost" not in u]
    for link in [*literal, *NOT_HTTP]:
        response = await guarded.send(
            {"messaging_product": "whatsapp", "to": "+79161234567", "type": "image", "image": {"link": link}}
        )
        assert response.status_code == 400, (link, response.text)
        error = response.json()["error"]
        assert error["code"] in (131009, 131053), (link, error)
        assert "image.link" in error["error_data"]["details"], (link, error)
    assert receiver.requests == []


async def test_fetching_a_link_refuses_private_targets_names_and_redirects(
    names: StaticResolver, receiver: Receiver, redirector: str
) -> None:
    for url in [*private_forms(receiver.port), *NOT_HTTP]:
        with pytest.raises(GraphError) as caught:
            await fetch_link(url, max_bytes=10_000, allow_private=False)
        assert caught.value.code == 131053 and "refused" in (caught.value.details or ""), url
    with pytest.raises(GraphError, match="HTTP 302"):
        await fetch_link(f"http://{redirector}/x.png", max_bytes=10_000, allow_private=True)
    assert receiver.requests == []


# -- the Graph API --------------------------------------------------------------------------------------
async def test_a_private_graph_base_url_stops_wagate_at_start(
    tmp_path: Path, clock: SettableClock, receiver: Receiver
) -> None:
    for base in (f"http://127.0.0.1:{receiver.port}", f"http://2130706433:{receiver.port}", "http://[::1]"):
        settings = make_settings(
            tmp_path / f"home-{len(base)}", graph_base_url=base, allow_private_targets=False
        )
        with pytest.raises(UnsafeTarget, match="not a public address"):
            async with serving(settings, clock):
                pass
    assert receiver.requests == []


async def test_a_graph_base_url_naming_a_private_address_fails_sends_clearly(
    tmp_path: Path,
    clock: SettableClock,
    names: StaticResolver,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(
        tmp_path / "home",
        graph_base_url=f"http://loopback.example.test:{receiver.port}",
        allow_private_targets=False,
    )
    async with serving(settings, clock) as w:
        cloud = make_cloud_organization(
            w.rt.db,
            clock.now(),
            waba_id=102290129340398,
            number_id=106540352242922,
            display="+1 555-0100",
            access_token="meta-system-user-token",
        )
        template = {"name": "hello_world", "language": {"code": "en_US"}}
        sent = await w.client.post(
            f"/v23.0/{cloud.number.id}/messages",
            json={
                "messaging_product": "whatsapp",
                "to": "+14155552671",
                "type": "template",
                "template": template,
            },
            headers={"Authorization": f"Bearer {cloud.token}"},
        )
        assert sent.status_code == 200, sent.text
        wamid = sent.json()["messages"][0]["id"]

        async def last_error() -> dict[str, Any] | None:
            found = await w.client.get(
                f"/api/v1/messages/{wamid}", headers={"Authorization": f"Bearer {cloud.token}"}
            )
            error: dict[str, Any] | None = (found.json().get("delivery") or {}).get("last_error")
            return error

        error = await eventually(last_error)
        assert error["code"] == 131016, error  # could not connect: tried again later, never sent
    # The operator's log says why.
    assert any("not a public address" in r.getMessage() for r in caplog.records), caplog.text
    assert receiver.requests == []
