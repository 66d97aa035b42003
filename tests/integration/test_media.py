"""Meta's media endpoints, media in sends, link fetching, inbound media and retention, over HTTP."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from sqlalchemy import Connection, func, select

from tests.conftest import Wagate, make_settings, serving
from tests.factories import make_organization, make_template
from tests.files import FileServer
from tests.helpers import eventually, opened
from wagate.clock import SettableClock
from wagate.errors import GraphError
from wagate.media import samples
from wagate.media.fetch import fetch_link
from wagate.media.store import MediaNotStored, media_store
from wagate.media.worker import GIVE_UP_AFTER
from wagate.settings import Settings
from wagate.store import access as access_sql
from wagate.store import media as media_sql
from wagate.store import tenancy as tenancy_sql
from wagate.store.db import Job
from wagate.store.schema import events, inbound_events, media, media_upstream
from wagate.upstreams.base import NumberRef

PNG = samples.png()
ALLOWED = [
    ("audio/aac", b"aac"),
    ("audio/amr", b"amr"),
    ("audio/mpeg", samples.mp3()),
    ("audio/mp4", b"m4a"),
    ("audio/ogg", b"ogg"),
    ("text/plain", b"a text document"),
    ("application/pdf", b"%PDF-1.4"),
    ("application/msword", b"doc"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"docx"),
    ("application/vnd.ms-excel", b"xls"),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"xlsx"),
    ("application/vnd.ms-powerpoint", b"ppt"),
    ("application/vnd.openxmlformats-officedocument.presentationml.presentation", b"pptx"),
    ("image/jpeg", b"\xff\xd8\xff\xe0jpeg"),
    ("image/png", PNG),
    ("image/webp", samples.webp()),
    ("video/mp4", samples.mp4()),
    ("video/3gpp", b"3gp"),
]


async def upload(
    w: Wagate, data: bytes, mime: str, *, type_field: str | None = None, token: str | None = None
) -> httpx.Response:
    form = {"messaging_product": "whatsapp"}
    if type_field is not None:
        form["type"] = type_field
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await w.client.post(
        f"/v23.0/{w.phone_number_id}/media",
        data=form,
        files={"file": ("upload.bin", data, mime)},
        headers=headers,
    )


async def upload_id(w: Wagate, data: bytes = PNG, mime: str = "image/png") -> str:
    response = await upload(w, data, mime, type_field=mime)
    assert response.status_code == 200, response.text
    media_id: str = response.json()["id"]
    return media_id


def media_rows(w: Wagate) -> int:
    return int(w.rt.db.read_now(lambda c: c.execute(select(func.count()).select_from(media)).scalar_one()))


def stored_files(w: Wagate) -> list[Path]:
    root = w.rt.settings.home / "media"
    return sorted(root.iterdir()) if root.exists() else []


def error_of(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    assert error["fbtrace_id"] and error["message"]
    return error


def image_message(media: dict[str, str], to: str = "+79161234567") -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "image", "image": media}


async def delivered(w: Wagate, wamid: str) -> None:
    async def check() -> bool:
        return (await w.message(wamid))["status"] in ("delivered", "read")

    await eventually(check)


def sim_uploads(w: Wagate) -> dict[str, tuple[bytes, str, int]]:
    assert w.rt.simulator is not None
    return w.rt.simulator.media


# -- upload, describe, download, delete -------------------------------------------------------------
async def test_each_allowed_type_uploads_and_describes_itself(wagate: Wagate) -> None:
    for mime, data in ALLOWED:
        response = await upload(wagate, data, mime)
        assert response.status_code == 200, (mime, response.text)
        media_id = response.json()["id"]
        assert set(response.json()) == {"id"} and media_id.isdigit()
        described = await wagate.client.get(f"/v23.0/{media_id}")
        assert described.status_code == 200, described.text
        body = described.json()
        assert set(body) == {"messaging_product", "url", "mime_type", "sha256", "file_size", "id"}
        assert body["messaging_product"] == "whatsapp" and body["id"] == media_id
        assert body["mime_type"] == mime
        assert body["sha256"] == hashlib.sha256(data).hexdigest()
        assert body["file_size"] == str(len(data))
        assert body["url"].startswith("http://wagate/v1/media/download/")
        downloaded = await wagate.client.get(body["url"])
        assert downloaded.status_code == 200 and downloaded.content == data
        assert downloaded.headers["content-type"].startswith(mime)
    assert media_rows(wagate) == len(ALLOWED) == len(stored_files(wagate))


async def test_type_field_wins_over_the_file_part(wagate: Wagate) -> None:
    response = await upload(wagate, PNG, "application/octet-stream", type_field="image/png")
    assert response.status_code == 200, response.text
    described = (await wagate.client.get(f"/v23.0/{response.json()['id']}")).json()
    assert described["mime_type"] == "image/png"


async def test_wrong_type_or_size_is_refused_and_nothing_is_stored(wagate: Wagate) -> None:
    refusals = [
        await upload(wagate, b"GIF89a", "image/gif"),
        await upload(wagate, PNG, "image/png", type_field="application/zip"),
        await upload(wagate, b"\xff\xd8" + bytes(5 * 1024 * 1024), "image/jpeg"),
        await upload(wagate, samples.webp() + bytes(100 * 1024), "image/webp"),
        await upload(wagate, b"", "image/png"),
    ]
    for response in refusals:
        assert response.status_code == 400, response.text
        error = error_of(response)
        assert error["code"] == 131053
        assert error["error_data"]["details"]
    assert "image/gif" in error_of(refusals[0])["error_data"]["details"]
    assert "at most" in error_of(refusals[2])["error_data"]["details"]
    assert media_rows(wagate) == 0 and stored_files(wagate) == []


async def test_malformed_uploads_get_meta_errors(wagate: Wagate) -> None:
    path = f"/v23.0/{wagate.phone_number_id}/media"
    no_product = await wagate.client.post(path, files={"file": ("a.png", PNG, "image/png")})
    assert error_of(no_product)["code"] == 100
    no_file = await wagate.client.post(path, data={"messaging_product": "whatsapp"}, files={"x": ("", b"")})
    assert error_of(no_file)["code"] == 131008
    as_json = await wagate.client.post(path, json={"messaging_product": "whatsapp"})
    assert error_of(as_json)["code"] == 100
    other_number = await wagate.client.post(
        "/v23.0/999999/media", data={"messaging_product": "whatsapp"}, files={"file": ("a", PNG, "image/png")}
    )
    assert other_number.status_code == 400 and error_of(other_number)["code"] == 100
    assert media_rows(wagate) == 0


async def test_download_needs_the_token_of_the_same_organization(wagate: Wagate) -> None:
    other = make_organization(wagate.rt.db, 0.0)
    media_id = await upload_id(wagate)
    url = (await wagate.client.get(f"/v23.0/{media_id}")).json()["url"]
    anonymous = await wagate.client.get(url, headers={"Authorization": ""})
    assert anonymous.status_code == 401
    foreign = await wagate.client.get(url, headers={"Authorization": f"Bearer {other.token}"})
    assert foreign.status_code == 404 and b"\x89PNG" not in foreign.content
    forged = await wagate.client.get(url.replace("sig=", "sig=0"))
    assert forged.status_code == 404
    assert (await wagate.client.get(url)).content == PNG


async def test_download_url_expires_after_five_minutes(wagate: Wagate, clock: SettableClock) -> None:
    media_id = await upload_id(wagate)
    url = (await wagate.client.get(f"/v23.0/{media_id}")).json()["url"]
    clock.advance(299)
    assert (await wagate.client.get(url)).status_code == 200
    clock.advance(2)
    expired = await wagate.client.get(url)
    assert expired.status_code == 404 and error_of(expired)["code"] == 100
    fresh = (await wagate.client.get(f"/v23.0/{media_id}")).json()["url"]
    assert (await wagate.client.get(fresh)).content == PNG


async def test_another_organizations_media_is_an_unknown_object(wagate: Wagate) -> None:
    other = make_organization(wagate.rt.db, 0.0)
    media_id = await upload_id(wagate)
    unknown = await wagate.client.get("/v23.0/123456789012345")
    as_other = {"Authorization": f"Bearer {other.token}"}
    for response in (
        await wagate.client.get(f"/v23.0/{media_id}", headers=as_other),
        await wagate.client.delete(f"/v23.0/{media_id}", headers=as_other),
    ):
        assert response.status_code == unknown.status_code == 400
        assert error_of(response)["code"] == error_of(unknown)["code"] == 100
        assert error_of(response)["type"] == "GraphMethodException"
        assert media_id in error_of(response)["message"]
    assert (await wagate.client.get(f"/v23.0/{media_id}")).status_code == 200


async def test_phone_number_id_must_be_the_media_number(wagate: Wagate) -> None:
    media_id = await upload_id(wagate)
    same = await wagate.client.get(f"/v23.0/{media_id}", params={"phone_number_id": wagate.phone_number_id})
    assert same.status_code == 200
    other = await wagate.client.get(f"/v23.0/{media_id}", params={"phone_number_id": "42"})
    assert error_of(other)["code"] == 100


async def test_deleted_media_cannot_be_read_downloaded_or_sent(wagate: Wagate) -> None:
    media_id = await upload_id(wagate)
    url = (await wagate.client.get(f"/v23.0/{media_id}")).json()["url"]
    deleted = await wagate.client.delete(f"/v23.0/{media_id}")
    assert deleted.status_code == 200 and deleted.json() == {"success": True}
    assert stored_files(wagate) == []
    assert error_of(await wagate.client.get(f"/v23.0/{media_id}"))["code"] == 100
    assert (await wagate.client.get(url)).status_code == 404
    again = await wagate.client.delete(f"/v23.0/{media_id}")
    assert again.status_code == 400
    sent = await wagate.send(image_message({"id": media_id}))
    assert sent.status_code == 400
    assert error_of(sent)["code"] == 131053 and "image.id" in error_of(sent)["error_data"]["details"]


# -- media in sends ---------------------------------------------------------------------------------
async def test_image_by_id_reaches_the_simulator_as_its_own_media(wagate: Wagate) -> None:
    for wa_id in ["79161234567", *(f"7916123450{i}" for i in range(5))]:
        await wagate.customer_writes(wa_id)
    media_id = await upload_id(wagate)
    response = await wagate.send(image_message({"id": media_id, "caption": "Your receipt"}))
    assert response.status_code == 200, response.text
    await delivered(wagate, response.json()["messages"][0]["id"])
    mapping = wagate.rt.db.read_now(
        lambda c: c.execute(select(media_upstream).where(media_upstream.c.media_id == int(media_id))).all()
    )
    assert len(mapping) == 1 and mapping[0].phone_number_id == int(wagate.phone_number_id)
    sim_id = mapping[0].upstream_media_id
    assert sim_id != media_id
    assert sim_uploads(wagate)[sim_id] == (PNG, "image/png", int(wagate.phone_number_id))
    # The upstream's copy is reused, and many sends at once upload it once.
    responses = await asyncio.gather(
        *(wagate.send(image_message({"id": media_id}, to=f"+7916123450{i}")) for i in range(5))
    )
    for sent in responses:
        await delivered(wagate, sent.json()["messages"][0]["id"])
    assert len(sim_uploads(wagate)) == 1


async def test_concurrent_first_sends_upload_once(wagate: Wagate) -> None:
    for i in range(8):
        await wagate.customer_writes(f"7916123451{i}")
    media_id = await upload_id(wagate)
    responses = await asyncio.gather(
        *(wagate.send(image_message({"id": media_id}, to=f"+7916123451{i}")) for i in range(8))
    )
    for sent in responses:
        assert sent.status_code == 200, sent.text
        await delivered(wagate, sent.json()["messages"][0]["id"])
    assert len(sim_uploads(wagate)) == 1


async def test_template_header_and_interactive_header_media_by_id(wagate: Wagate) -> None:
    org = wagate.rt.db.read_now(lambda c: access_sql.org_by_token(c, wagate.token))
    assert org is not None
    receipt = make_template(
        wagate.rt.db,
        org.id,
        int(wagate.waba_id),
        "receipt",
        [
            {"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": ["4::aGVsbG8="]}},
            {"type": "BODY", "text": "Here is your receipt."},
        ],
    )
    await wagate.template_added(receipt)
    await wagate.customer_writes("79161234567")
    document = await upload_id(wagate, b"%PDF-1.4 receipt", "application/pdf")
    video = await upload_id(wagate, samples.mp4(), "video/mp4")
    template = await wagate.send(
        {
            "messaging_product": "whatsapp",
            "to": "+79161234567",
            "type": "template",
            "template": {
                "name": "receipt",
                "language": {"code": "en_US"},
                "components": [
                    {"type": "header", "parameters": [{"type": "document", "document": {"id": document}}]}
                ],
            },
        }
    )
    interactive = await wagate.send(
        {
            "messaging_product": "whatsapp",
            "to": "+79161234567",
            "type": "interactive",
            "interactive": {
                "type": "button",
                "header": {"type": "video", "video": {"id": video}},
                "body": {"text": "Watch this"},
                "action": {"buttons": [{"type": "reply", "reply": {"id": "ok", "title": "OK"}}]},
            },
        }
    )
    for response in (template, interactive):
        assert response.status_code == 200, response.text
        await delivered(wagate, response.json()["messages"][0]["id"])
    held = {data for data, _, _ in sim_uploads(wagate).values()}
    assert held == {b"%PDF-1.4 receipt", samples.mp4()}


async def test_media_of_the_wrong_kind_or_unknown_is_refused(wagate: Wagate) -> None:
    pdf = await upload_id(wagate, b"%PDF-1.4", "application/pdf")
    as_image = await wagate.send(image_message({"id": pdf}))
    assert error_of(as_image)["code"] == 131053
    assert "application/pdf" in error_of(as_image)["error_data"]["details"]
    unknown = await wagate.send(image_message({"id": "1234567890"}))
    assert error_of(unknown)["code"] == 131053
    assert "image.id" in error_of(unknown)["error_data"]["details"]
    other = make_organization(wagate.rt.db, 0.0)
    foreign_send = await wagate.client.post(
        f"/v23.0/{other.number.id}/messages",
        json={
            "messaging_product": "whatsapp",
            "to": "+79161234567",
            "type": "document",
            "document": {"id": pdf},
        },
        headers={"Authorization": f"Bearer {other.token}"},
    )
    assert error_of(foreign_send)["code"] == 131053
    await wagate.customer_writes("79161234567")
    as_document = await wagate.send(
        {"messaging_product": "whatsapp", "to": "+79161234567", "type": "document", "document": {"id": pdf}}
    )
    assert as_document.status_code == 200, as_document.text


async def test_image_by_link_is_passed_through(tmp_path: Path, clock: SettableClock) -> None:
    # The upstream fetches the link (tests/integration/test_simulator_media_links.py): it is served here.
    files = await FileServer().start()
    try:
        async with serving(make_settings(tmp_path / "home", allow_private_targets=True), clock) as w:
            await w.customer_writes("79161234567")
            link = files.put("/receipt.png", PNG, "image/png")
            response = await w.send(image_message({"link": link}))
            assert response.status_code == 200, response.text
            await delivered(w, response.json()["messages"][0]["id"])
            assert sim_uploads(w) == {}
    finally:
        await files.stop()
    assert files.requests["/receipt.png"] == 1


@pytest.fixture
def private_off(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "home", allow_private_targets=False)


async def test_links_to_private_addresses_are_refused(private_off: Settings, clock: SettableClock) -> None:
    async with serving(private_off, clock) as w:
        for link in ("http://127.0.0.1/x.png", "http://169.254.169.254/", "http://[::1]/x.png", "ftp://a/b"):
            response = await w.send(image_message({"link": link}))
            assert response.status_code == 400, (link, response.text)
            error = error_of(response)
            assert error["code"] in (131009, 131053), link
            assert "image.link" in error["error_data"]["details"]
        assert error_of(await w.send(image_message({"link": "http://10.0.0.8/x.png"})))["code"] == 131053


async def test_links_to_private_addresses_pass_when_allowed(tmp_path: Path, clock: SettableClock) -> None:
    async with serving(make_settings(tmp_path / "home", allow_private_targets=True), clock) as w:
        await w.customer_writes("79161234567")
        response = await w.send(image_message({"link": "http://127.0.0.1/x.png"}))
        assert response.status_code == 200, response.text


# -- fetching links ---------------------------------------------------------------------------------
@pytest.fixture
async def file_server() -> AsyncIterator[str]:
    async def small(request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    async def big(request: web.Request) -> web.StreamResponse:
        # No Content-Length: the limit must hold while the body streams in.
        response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(64):
            await response.write(bytes(16 * 1024))
        await response.write_eof()
        return response

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/small")

    app = web.Application()
    app.router.add_get("/small", small)
    app.router.add_get("/big", big)
    app.router.add_get("/redirect", redirect)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_fetch_link_returns_the_body_and_type(file_server: str) -> None:
    data, mime = await fetch_link(f"http://{file_server}/small", max_bytes=10_000, allow_private=True)
    assert data == PNG and mime == "image/png"


async def test_fetch_link_stops_at_the_size_limit(file_server: str) -> None:
    with pytest.raises(GraphError, match="larger than") as caught:
        await fetch_link(f"http://{file_server}/big", max_bytes=100_000, allow_private=True)
    assert caught.value.code == 131053
    with pytest.raises(GraphError, match="larger than"):
        await fetch_link(f"http://{file_server}/small", max_bytes=10, allow_private=True)
    data, _ = await fetch_link(f"http://{file_server}/big", max_bytes=1024 * 1024, allow_private=True)
    assert len(data) == 64 * 16 * 1024


async def test_fetch_link_follows_no_redirect(file_server: str) -> None:
    with pytest.raises(GraphError, match="HTTP 302"):
        await fetch_link(f"http://{file_server}/redirect", max_bytes=10_000, allow_private=True)


async def test_fetch_link_refuses_private_targets_by_name_and_address(file_server: str) -> None:
    port = file_server.rsplit(":", 1)[1]
    for url in (f"http://localhost:{port}/small", f"http://{file_server}/small", "file:///etc/passwd"):
        with pytest.raises(GraphError) as caught:
            await fetch_link(url, max_bytes=10_000, allow_private=False)
        assert caught.value.code == 131053 and "refused" in (caught.value.details or ""), url


# -- inbound media, retention -----------------------------------------------------------------------
@dataclass
class RecordInbound(Job[int]):
    """What the ingest of a customer's image does, inside its transaction."""

    org_id: int
    number_id: int
    upstream_id: str
    now: float

    def run(self, conn: Connection) -> int:
        return media_sql.record_inbound_media(
            conn, self.org_id, self.number_id, self.upstream_id, "image/png", "from-webhook", self.now
        )


async def test_inbound_media_is_downloaded_by_the_worker(wagate: Wagate, clock: SettableClock) -> None:
    assert wagate.rt.simulator is not None
    org = wagate.rt.db.read_now(lambda c: access_sql.org_by_token(c, wagate.token))
    assert org is not None
    number = wagate.rt.db.read_now(lambda c: tenancy_sql.number_by_id(c, int(wagate.phone_number_id)))
    assert number is not None
    ref = NumberRef(number.id, number.display_phone_number, number.waba_id, number.rate)
    sim_id = await wagate.rt.simulator.upload_media(ref, PNG, "image/png", None)
    media_id = await wagate.rt.db.write(RecordInbound(org.id, number.id, sim_id, clock.now()))
    assert await wagate.rt.db.write(RecordInbound(org.id, number.id, sim_id, clock.now())) == media_id

    async def downloaded() -> media_sql.MediaRow | None:
        row = wagate.rt.db.read_now(lambda c: media_sql.media_by_id(c, media_id))
        return row if row is not None and row.downloaded else None

    row = await eventually(downloaded)
    assert row.sha256 == hashlib.sha256(PNG).hexdigest() and row.file_size == len(PNG)
    assert row.source == "inbound" and row.mime_type == "image/png"
    described = (await wagate.client.get(f"/v23.0/{media_id}")).json()
    assert (await wagate.client.get(described["url"])).content == PNG
    # Sent back on the number it came from, the upstream's own id is used: nothing is uploaded.
    before = dict(sim_uploads(wagate))
    await wagate.customer_writes("79161234567")
    sent = await wagate.send(image_message({"id": str(media_id)}))
    await delivered(wagate, sent.json()["messages"][0]["id"])
    assert sim_uploads(wagate) == before


async def test_inbound_media_the_upstream_never_gives_is_given_up_after_a_day(
    wagate: Wagate, clock: SettableClock
) -> None:
    org = wagate.rt.db.read_now(lambda c: access_sql.org_by_token(c, wagate.token))
    assert org is not None
    media_id = await wagate.rt.db.write(
        RecordInbound(org.id, int(wagate.phone_number_id), "no-such-media", clock.now())
    )
    assert (await wagate.client.get(f"/v23.0/{media_id}")).status_code == 200
    clock.advance(GIVE_UP_AFTER + 1)

    async def gone() -> bool:
        row = wagate.rt.db.read_now(lambda c: media_sql.media_by_id(c, media_id))
        return row is not None and row.deleted_at is not None

    await eventually(gone)


async def test_retention_deletes_old_media(wagate: Wagate, clock: SettableClock) -> None:
    old = await upload_id(wagate)
    clock.advance(wagate.rt.settings.media_retention - 60)
    recent = await upload_id(wagate, b"%PDF-1.4", "application/pdf")
    clock.advance(120)

    async def old_is_gone() -> bool:
        # The row goes in one commit, and its file right after that commit.
        row_gone = (await wagate.client.get(f"/v23.0/{old}")).status_code == 400
        files = media_store(wagate.rt.settings, wagate.rt.db.keys)
        try:
            return row_gone and [await files.read(p.name) for p in stored_files(wagate)] == [b"%PDF-1.4"]
        except MediaNotStored:  # listed, then removed before it was read: look again
            return False

    await eventually(old_is_gone)
    assert (await wagate.client.get(f"/v23.0/{recent}")).status_code == 200


# -- simulated customers send media -----------------------------------------------------------------
async def test_simulated_customers_send_each_kind_of_media(wagate: Wagate) -> None:
    kinds = {
        "image": {"caption": "my photo"},
        "video": {},
        "audio": {},
        "document": {
            "filename": "invoice.pdf",
            "data_base64": base64.b64encode(b"%PDF").decode(),
            "mime_type": "application/pdf",
            "caption": "the invoice",
        },
        "sticker": {},
    }
    for kind, extra in kinds.items():
        response = await wagate.client.post(
            "/api/v1/simulator/messages",
            json={"phone_number_id": wagate.phone_number_id, "from": "+79161234567", "type": kind, **extra},
        )
        assert response.status_code == 201, (kind, response.text)
    bodies = wagate.rt.db.read_now(lambda c: [r[0] for r in c.execute(select(inbound_events.c.body))])
    inbound = [
        message
        for body in bodies
        for entry in json.loads(opened(wagate.rt.db, inbound_events.c.body, body))["entry"]
        for change in entry["changes"]
        for message in change["value"].get("messages", [])
    ]
    by_kind = {message["type"]: message[message["type"]] for message in inbound}
    assert set(by_kind) == set(kinds)
    held = sim_uploads(wagate)
    for obj in by_kind.values():
        data, mime, number_id = held[obj["id"]]
        assert obj["mime_type"] == mime and obj["sha256"] == hashlib.sha256(data).hexdigest()
        assert number_id == int(wagate.phone_number_id)
    assert by_kind["image"]["caption"] == "my photo" and held[by_kind["image"]["id"]][0] == PNG
    assert by_kind["document"]["filename"] == "invoice.pdf"
    assert held[by_kind["document"]["id"]][:2] == (b"%PDF", "application/pdf")
    assert by_kind["sticker"]["animated"] is False and by_kind["audio"]["voice"] is False
    refused = await wagate.client.post(
        "/api/v1/simulator/messages",
        json={
            "phone_number_id": wagate.phone_number_id,
            "from": "+79161234567",
            "type": "audio",
            "caption": "x",
        },
    )
    assert refused.status_code == 400


async def test_a_customers_photo_reaches_the_business_under_a_wagate_media_id(wagate: Wagate) -> None:
    response = await wagate.client.post(
        "/api/v1/simulator/messages",
        json={
            "phone_number_id": wagate.phone_number_id,
            "from": "+79161234567",
            "type": "image",
            "caption": "hi",
        },
    )
    assert response.status_code == 201
    payloads = wagate.rt.db.read_now(
        lambda c: [
            json.loads(opened(wagate.rt.db, events.c.meta_value, r[0]))
            for r in c.execute(select(events.c.meta_value).where(events.c.type == "message.received"))
        ]
    )
    image = payloads[-1]["messages"][0]["image"]
    assert image["id"] not in sim_uploads(wagate)  # wagate's id, not the upstream's
    assert image["caption"] == "hi" and "url" not in image

    async def downloaded() -> dict[str, object] | None:
        info = (await wagate.client.get(f"/v23.0/{image['id']}")).json()
        return info if info.get("file_size") not in (None, "0") else None

    info = await eventually(downloaded)
    data = await wagate.client.get(str(info["url"]))
    assert data.status_code == 200 and data.content == PNG
