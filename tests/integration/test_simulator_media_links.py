"""The simulator fetches media sent by link, as Meta does: a send is accepted, then delivered if its file
can be fetched and is one WhatsApp takes, or failed with 131053 saying why. Files are served here, on
the loopback address (private targets allowed), except where a test says otherwise."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FAST_RECEIPTS, Wagate, make_settings, serving
from tests.factories import make_template
from tests.files import FileServer
from tests.helpers import eventually
from tests.receiver import Receiver
from wagate.clock import SettableClock
from wagate.media import rules, samples
from wagate.settings import SimulatorSettings
from wagate.store import access as access_sql
from wagate.upstreams.base import NumberRef
from wagate.upstreams.simulator import SimulatorUpstream
from wagate.upstreams.simulator.media_links import CACHE_SECONDS

PNG = samples.png()
CUSTOMER = "+79161234567"
SETTINGS: SimulatorSettings = FAST_RECEIPTS


@pytest.fixture
async def files() -> AsyncIterator[FileServer]:
    server = await FileServer().start()
    yield server
    await server.stop()


@pytest.fixture
async def linked(tmp_path: Path, clock: SettableClock) -> AsyncIterator[Wagate]:
    """wagate whose simulator may fetch from private addresses, as the files here are on one."""
    settings = make_settings(tmp_path / "home", allow_private_targets=True, simulator=SETTINGS)
    async with serving(settings, clock) as w:
        await w.customer_writes(CUSTOMER.lstrip("+"))
        yield w


def media(kind: str, link: str, to: str = CUSTOMER) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": kind, kind: {"link": link}}


async def sent(w: Wagate, body: dict[str, Any]) -> str:
    response = await w.send(body)
    assert response.status_code == 200, response.text
    wamid: str = response.json()["messages"][0]["id"]
    return wamid


async def outcome(w: Wagate, wamid: str) -> dict[str, Any]:
    """The message once it is read or failed."""

    async def final() -> dict[str, Any] | None:
        message = await w.message(wamid)
        return message if message["status"] in ("read", "failed") else None

    found: dict[str, Any] = await eventually(final)
    return found


async def requested(files: FileServer, path: str) -> bool:
    return files.requests[path] > 0


async def failure(w: Wagate, wamid: str) -> str:
    """The details of the 131053 the message failed with."""
    message = await outcome(w, wamid)
    assert message["status"] == "failed", message
    error = message["error"]
    assert error["code"] == 131053 and error["title"] == "Media upload error", error
    details: str = error["details"]
    assert "Error(" not in details and "ConnectionKey" not in details, details
    return details


# -- delivered -----------------------------------------------------------------------------------
async def test_an_image_served_by_link_is_delivered(linked: Wagate, files: FileServer) -> None:
    link = files.put("/photo.png", PNG, "image/png")
    message = await outcome(linked, await sent(linked, media("image", link)))
    assert message["status"] == "read"
    assert [h["status"] for h in message["history"]] == ["accepted", "sent", "delivered", "read"]
    assert files.requests["/photo.png"] == 1


async def test_each_kind_is_judged_by_its_own_types(linked: Wagate, files: FileServer) -> None:
    served = {
        "audio": ("audio/ogg; codecs=opus", b"OggS" + bytes(64)),
        "video": ("video/mp4", samples.mp4()),
        "document": ("application/pdf", b"%PDF-1.4"),
        "sticker": ("image/webp", samples.webp()),
    }
    for kind, (mime, data) in served.items():
        link = files.put(f"/{kind}", data, mime)
        assert (await outcome(linked, await sent(linked, media(kind, link))))["status"] == "read", kind
    # The same file as another kind: a PNG is no sticker.
    details = await failure(
        linked, await sent(linked, media("sticker", files.put("/p.png", PNG, "image/png")))
    )
    assert "'image/png'; sticker media must be one of: image/webp" in details


# -- failed with 131053 ----------------------------------------------------------------------------
async def test_a_missing_file_fails(linked: Wagate, files: FileServer) -> None:
    link = files.url("/gone.jpg")
    details = await failure(linked, await sent(linked, media("image", link)))
    assert details == f"Media link {link} answered HTTP 404."


async def test_a_host_that_does_not_resolve_fails(linked: Wagate) -> None:
    link = "https://nowhere.invalid/x.jpg"
    details = await failure(linked, await sent(linked, media("image", link)))
    assert details == f"Media link {link}: the name nowhere.invalid does not resolve."


async def test_a_server_that_is_not_there_fails(linked: Wagate, files: FileServer) -> None:
    link = files.url("/x.jpg").replace(f":{files.port}/", ":9/")  # the discard port: nobody listens
    details = await failure(linked, await sent(linked, media("image", link)))
    assert details == f"Media link {link}: could not connect to 127.0.0.1:9: connection refused."


async def test_a_file_over_its_kinds_limit_fails(linked: Wagate, files: FileServer) -> None:
    # Streamed without a Content-Length: the limit holds as the file arrives.
    big = files.put("/big.jpg", b"\xff\xd8\xff" + bytes(5 * rules.MB), "image/jpeg", chunked=True)
    details = await failure(linked, await sent(linked, media("image", big)))
    assert details == f"Media link {big} is larger than {5 * rules.MB} bytes."
    # A static sticker over 100 KB: within the 500 KB an animated one may have, too big once read.
    sticker = files.put("/static.webp", samples.webp() + bytes(200 * rules.KB), "image/webp")
    details = await failure(linked, await sent(linked, media("sticker", sticker)))
    assert details.endswith("files of type image/webp may have at most 102400 bytes.")


async def test_a_file_of_the_wrong_type_fails(linked: Wagate, files: FileServer) -> None:
    page = files.put("/photo", b"<html></html>", "text/html; charset=utf-8")
    details = await failure(linked, await sent(linked, media("image", page)))
    assert details == (
        f"Media link {page}: The file is of type 'text/html'; image media must be one of: "
        "image/jpeg, image/png."
    )
    archive = files.put("/files.zip", b"PK\x03\x04", "application/zip")
    assert "'application/zip'" in await failure(linked, await sent(linked, media("document", archive)))


async def test_a_slow_link_keeps_no_other_send_waiting(linked: Wagate, files: FileServer) -> None:
    slow = files.put("/slow.png", PNG, "image/png", held=True)
    waiting = await sent(linked, media("image", slow))
    await eventually(lambda: requested(files, "/slow.png"))
    quick = await sent(linked, media("image", files.put("/quick.png", PNG, "image/png")))
    assert (await outcome(linked, quick))["status"] == "read"
    assert (await linked.message(waiting))["status"] == "accepted"
    files.release("/slow.png")
    assert (await outcome(linked, waiting))["status"] == "read"


async def test_a_server_that_never_answers_fails_after_the_timeout(
    tmp_path: Path, clock: SettableClock, files: FileServer
) -> None:
    impatient = dataclasses.replace(SETTINGS, media_link_timeout=0.5)
    settings = make_settings(tmp_path / "home", allow_private_targets=True, simulator=impatient)
    slow = files.put("/slow.png", PNG, "image/png", held=True)
    async with serving(settings, clock) as w:
        await w.customer_writes(CUSTOMER.lstrip("+"))
        details = await failure(w, await sent(w, media("image", slow)))
    assert details == f"Media link {slow}: no complete answer within 0.5 s."


async def test_a_private_address_is_refused_unless_allowed(
    tmp_path: Path, clock: SettableClock, files: FileServer
) -> None:
    # `localhost` is a name: wagate lets it through, and the address it resolves to is refused when
    # the simulator connects, as Meta's fetch would never reach it.
    files.put("/photo.png", PNG, "image/png")
    link = files.url("/photo.png", host="localhost")
    async with serving(make_settings(tmp_path / "home", allow_private_targets=False), clock) as w:
        await w.customer_writes(CUSTOMER.lstrip("+"))
        details = await failure(w, await sent(w, media("image", link)))
    assert details.startswith("Media link refused: localhost resolves to ")
    assert "which is not a public address" in details
    assert files.requests["/photo.png"] == 0


async def test_a_template_header_image_that_is_missing_fails(linked: Wagate, files: FileServer) -> None:
    org = linked.rt.db.read_now(lambda c: access_sql.org_by_token(c, linked.token))
    assert org is not None
    components = [
        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2U="]}},
        {"type": "BODY", "text": "Your receipt is attached."},
    ]
    template_id = make_template(linked.rt.db, org.id, int(linked.waba_id), "receipt", components)
    await linked.template_added(template_id)
    link = files.url("/receipt.png")
    header = {"type": "header", "parameters": [{"type": "image", "image": {"link": link}}]}
    body = {
        "messaging_product": "whatsapp",
        "to": "+79161239876",
        "type": "template",
        "template": {"name": "receipt", "language": {"code": "en_US"}, "components": [header]},
    }
    details = await failure(linked, await sent(linked, body))
    assert details == f"Media link {link} answered HTTP 404."
    files.put("/receipt.png", PNG, "image/png")
    assert (await outcome(linked, await sent(linked, body)))["status"] == "read"


async def test_an_interactive_header_of_the_wrong_kind_fails(linked: Wagate, files: FileServer) -> None:
    link = files.put("/clip", PNG, "image/png")
    interactive = {
        "type": "button",
        "header": {"type": "video", "video": {"link": link}},
        "body": {"text": "Watch it?"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}}]},
    }
    body = {
        "messaging_product": "whatsapp",
        "to": CUSTOMER,
        "type": "interactive",
        "interactive": interactive,
    }
    assert "video media must be one of: video/mp4, video/3gpp" in await failure(
        linked, await sent(linked, body)
    )


async def test_the_failure_reaches_the_business_as_a_failed_status(linked: Wagate, files: FileServer) -> None:
    receiver = await Receiver().start()
    try:
        subscribed = await linked.client.post(
            "/api/v1/webhooks/subscriptions",
            json={"url": receiver.url("/statuses"), "event_types": ["message.status"]},
        )
        assert subscribed.status_code == 201, subscribed.text
        link = files.url("/gone.png")
        wamid = await sent(linked, media("image", link))

        async def failed() -> dict[str, Any] | None:
            bodies = [json.loads(r.body) for r in receiver.posts("/statuses")]
            return next((b["data"] for b in bodies if b["data"]["status"] == "failed"), None)

        data = await eventually(failed)
    finally:
        await receiver.stop()
    assert data["message_id"] == wamid
    assert data["error"] == {
        "code": 131053,
        "title": "Media upload error",
        "details": f"Media link {link} answered HTTP 404.",
    }
    statuses = {json.loads(r.body)["data"]["status"] for r in receiver.posts("/statuses")}
    assert statuses == {"failed"}, "nothing was sent, delivered or read"


# -- the cache -----------------------------------------------------------------------------------
async def test_a_link_is_fetched_once_for_many_sends_for_ten_minutes(
    linked: Wagate, files: FileServer, clock: SettableClock
) -> None:
    link = files.put("/offer.png", PNG, "image/png")
    await linked.customer_writes("79161234568")
    first = [await sent(linked, media("image", link, to)) for to in (CUSTOMER, "+79161234568")]
    for wamid in first:
        assert (await outcome(linked, wamid))["status"] == "read"
    assert files.requests["/offer.png"] == 1
    # The cache is per exact URL: another query string is another file.
    assert (await outcome(linked, await sent(linked, media("image", link + "?v=2"))))["status"] == "read"
    assert files.requests["/offer.png"] == 2
    clock.advance(CACHE_SECONDS + 1)
    assert (await outcome(linked, await sent(linked, media("image", link))))["status"] == "read"
    assert files.requests["/offer.png"] == 3


# -- a restart -----------------------------------------------------------------------------------
async def test_links_still_being_fetched_are_fetched_again_after_a_restart(
    tmp_path: Path, files: FileServer
) -> None:
    clock = SettableClock(1_700_000_000.0)
    number = NumberRef(11, "+7 495 555-01-00", 21, 80)
    journal = tmp_path / "journal.jsonl"
    statuses: list[dict[str, Any]] = []

    async def ingest(body: bytes) -> None:
        for entry in json.loads(body)["entry"]:
            for change in entry["changes"]:
                statuses.extend(change["value"].get("statuses", []))

    link = files.put("/photo.png", PNG, "image/png", held=True)
    first = SimulatorUpstream(clock, SETTINGS, journal, allow_private=True)
    await first.start(ingest)
    await first.customer_message(number, "79161234567", "Anna", {"type": "text", "text": {"body": "Hi"}})
    sim_id = await first.send(number, media("image", link, to="79161234567"))
    await eventually(lambda: requested(files, "/photo.png"))
    await first.close()
    assert statuses == []

    files.put("/photo.png", PNG, "image/png")
    second = SimulatorUpstream(clock, SETTINGS, journal, allow_private=True)
    await second.start(ingest)

    async def read() -> bool:
        return any(s["id"] == sim_id and s["status"] == "read" for s in statuses)

    try:
        await eventually(read)
    finally:
        await second.close()
    assert files.requests["/photo.png"] == 2
    assert {s["status"] for s in statuses if s["id"] == sim_id} == {"sent", "delivered", "read"}
