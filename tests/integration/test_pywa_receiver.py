"""A real receiver: pywa's webhook handling, unmodified, gets wagate's events in Meta's format.

pywa checks the verification handshake, the `X-Hub-Signature-256` of every POST, and parses Meta's
current payloads (it expects `contacts` with the business-scoped `user_id` on statuses too).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from pywa import WhatsApp, handlers, types

from tests.conftest import Wagate, make_settings, serving
from tests.helpers import eventually
from wagate.clock import SettableClock

APP_SECRET = "pywa-receiver-app-secret"
VERIFY_TOKEN = "pywa-verify-token"


class PywaEndpoint:
    """pywa's webhook handling behind a small aiohttp server on 127.0.0.1."""

    def __init__(self) -> None:
        self.messages: list[types.Message] = []
        self.statuses: list[types.MessageStatus] = []
        self.refused = 0
        self.wa: WhatsApp | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    def serve_number(self, phone_id: str) -> None:
        """pywa handles the updates of one business number (it ignores others')."""
        self.wa = WhatsApp(
            phone_id=phone_id,
            token="unused",
            verify_token=VERIFY_TOKEN,
            app_secret=APP_SECRET,
            validate_updates=True,
        )
        self.wa.add_handlers(
            handlers.MessageHandler(lambda _, m: self.messages.append(m)),
            handlers.MessageStatusHandler(lambda _, s: self.statuses.append(s)),
        )

    async def handle(self, request: web.Request) -> web.Response:
        assert self.wa is not None
        if request.method == "GET":
            text, status = self.wa.webhook_challenge_handler(
                vt=request.query.get("hub.verify_token", ""), ch=request.query.get("hub.challenge", "")
            )
            return web.Response(text=text, status=status)
        body = await request.read()
        refused = self.wa.webhook_update_validator(body, request.headers.get("X-Hub-Signature-256", ""))
        if refused:
            self.refused += 1
            return web.Response(text=refused[0], status=refused[1])
        text, status = self.wa.webhook_update_handler(body)
        return web.Response(text=text, status=status)

    async def start(self) -> PywaEndpoint:
        app = web.Application()
        app.router.add_route("*", "/whatsapp", self.handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def endpoint() -> AsyncIterator[PywaEndpoint]:
    started = await PywaEndpoint().start()
    yield started
    await started.stop()


async def test_pywa_receives_a_customer_message_and_every_receipt(
    tmp_path: Path, endpoint: PywaEndpoint
) -> None:
    settings = make_settings(tmp_path / "home", allow_private_targets=True)
    async with serving(settings, SettableClock(ticking=True)) as w:
        await _run(w, endpoint)


async def _run(w: Wagate, endpoint: PywaEndpoint) -> None:
    endpoint.serve_number(w.phone_number_id)
    created = await w.client.post(
        "/api/v1/webhooks/subscriptions",
        json={
            "url": f"http://127.0.0.1:{endpoint.port}/whatsapp",
            "format": "meta",
            "secret": APP_SECRET,
            "verify_token": VERIFY_TOKEN,
        },
    )
    assert created.status_code == 201, created.text  # pywa answered the handshake

    said = await w.client.post(
        "/api/v1/simulator/messages",
        json={
            "phone_number_id": w.phone_number_id,
            "from": "+79161234567",
            "name": "Anna",
            "text": "Is it ready?",
        },
    )
    assert said.status_code == 201

    async def customer_message() -> bool:
        return len(endpoint.messages) == 1

    await eventually(customer_message)
    message = endpoint.messages[0]
    assert message.text == "Is it ready?" and message.from_user.wa_id == "79161234567"
    assert message.from_user.name == "Anna"

    sent = await w.send(
        {
            "messaging_product": "whatsapp",
            "to": "+79161234567",
            "type": "text",
            "text": {"body": "Yes, come by"},
            "context": {"message_id": message.id},
        }
    )
    assert sent.status_code == 200, sent.text
    wamid = sent.json()["messages"][0]["id"]

    async def every_receipt() -> bool:
        return {s.status.value for s in endpoint.statuses if s.id == wamid} == {"sent", "delivered", "read"}

    await eventually(every_receipt)
    assert endpoint.refused == 0
