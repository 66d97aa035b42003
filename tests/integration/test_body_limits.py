"""Every request body is capped by its surface: a declared size over the cap is refused with 413 before
a byte of the body is read, a body streamed without a size is cut off at the cap, and the refusal is in
the surface's error model."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Wagate, make_settings, serving
from wagate.clock import SettableClock
from wagate.settings import Settings
from wagate.web.app import create_app
from wagate.web.body_limits import META_NOTIFICATION_MAX

HUNDRED_MB = 100 * 1024 * 1024
CHUNK = 64 * 1024


class Sender:
    """An ASGI client that streams `total` bytes in chunks and counts how many the app asked for."""

    def __init__(self, total: int, *, declared: bool) -> None:
        self.total = total
        self.declared = declared
        self.pulled = 0
        self.status: int | None = None
        self.body = b""
        self.headers: dict[str, str] = {}

    async def receive(self) -> dict[str, Any]:
        size = min(CHUNK, self.total - self.pulled)
        self.pulled += size
        return {"type": "http.request", "body": b"x" * size, "more_body": self.pulled < self.total}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    async def post(self, wagate: Wagate, path: str, content_type: str = "application/json") -> None:
        headers = [
            (b"authorization", f"Bearer {wagate.token}".encode()),
            (b"content-type", content_type.encode()),
        ]
        if self.declared:
            headers.append((b"content-length", str(self.total).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 5000),
            "server": ("wagate", 80),
        }
        app = create_app(wagate.rt)
        await app(scope, self.receive, self.send)  # type: ignore[arg-type]


def _paths(wagate: Wagate) -> dict[str, str]:
    return {
        "send": f"/v23.0/{wagate.phone_number_id}/messages",
        "api": "/api/v1/contacts",
        "import": "/api/v1/consents/import",
        "templates": f"/v23.0/{wagate.waba_id}/message_templates",
    }


@pytest.mark.parametrize("surface", ["send", "api", "import", "templates"])
async def test_a_hundred_megabytes_declared_are_refused_before_a_byte_is_read(
    wagate: Wagate, surface: str
) -> None:
    sender = Sender(HUNDRED_MB, declared=True)
    await sender.post(wagate, _paths(wagate)[surface])
    assert sender.status == 413, sender.body
    assert sender.pulled == 0
    assert b"larger than" in sender.body


@pytest.mark.parametrize("surface", ["send", "api", "import"])
async def test_a_body_streamed_without_a_size_is_cut_off_at_the_cap(
    wagate: Wagate, settings: Settings, surface: str
) -> None:
    cap = {
        "send": settings.body_limit_cloud,
        "api": settings.body_limit_api,
        "import": settings.body_limit_import,
    }[surface]
    sender = Sender(HUNDRED_MB, declared=False)
    await sender.post(wagate, _paths(wagate)[surface])
    assert sender.status == 413, sender.body
    # The app stopped asking at the chunk that crossed the cap.
    assert cap < sender.pulled <= cap + CHUNK


async def test_the_refusals_speak_each_surfaces_error_model(wagate: Wagate, settings: Settings) -> None:
    too_much = b"x" * (settings.body_limit_cloud + 1)
    graph = await wagate.client.post(_paths(wagate)["send"], content=too_much)
    assert graph.status_code == 413
    error = graph.json()["error"]
    assert error["code"] == 100 and error["type"] == "OAuthException" and "fbtrace_id" in error
    assert "WAGATE_BODY_LIMIT_CLOUD" in error["error_data"]["details"]

    api = await wagate.client.post("/api/v1/contacts", content=b"x" * (settings.body_limit_api + 1))
    assert api.status_code == 413
    assert api.json()["error"]["code"] == "payload_too_large"
    assert api.json()["error"]["data"]["limit"] == settings.body_limit_api

    meta = await wagate.client.post("/webhooks/meta", content=b"x" * (META_NOTIFICATION_MAX + 1))
    assert (meta.status_code, meta.text) == (413, "payload too large")


async def test_a_body_under_the_cap_is_served_as_before(wagate: Wagate) -> None:
    response = await wagate.client.post(
        "/api/v1/contacts", json={"phone": "+79161234567", "name": "Anna", "attributes": {"note": "x" * 1000}}
    )
    assert response.status_code == 201, response.text


async def test_a_lower_cap_is_configured_per_surface(settings: Settings, tmp_path: Any) -> None:

    small = make_settings(tmp_path / "small", body_limit_api=2048)
    async with serving(small, SettableClock(ticking=True)) as wagate:
        refused = await wagate.client.post(
            "/api/v1/contacts", json={"phone": "+79161234567", "name": "A" * 3000}
        )
        assert refused.status_code == 413
        accepted = await wagate.client.post(
            "/api/v1/contacts", json={"phone": "+79161234567", "name": "Anna"}
        )
        assert accepted.status_code == 201, accepted.text
