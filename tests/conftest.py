"""Fixtures: a running wagate in this process, reached over HTTP through its ASGI app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from wagate.clock import SettableClock
from wagate.services.runtime import Runtime
from wagate.services.tenancy import do_bootstrap
from wagate.settings import Settings, SimulatorSettings
from wagate.store.db import Database
from wagate.store.migrate import upgrade
from wagate.web.app import build_runtime, create_app, running

FAST_RECEIPTS = SimulatorSettings(sent_delay=0.01, delivered_delay=0.02, read_delay=0.03)


@dataclass
class Wagate:
    """A running wagate with the demo organization, and an HTTP client authenticated as it."""

    rt: Runtime
    client: httpx.AsyncClient
    token: str
    phone_number_id: str
    waba_id: str

    async def send(self, body: dict[str, object], **headers: str) -> httpx.Response:
        return await self.client.post(f"/v23.0/{self.phone_number_id}/messages", json=body, headers=headers)

    async def message(self, wamid: str) -> dict[str, object]:
        response = await self.client.get(f"/api/v1/messages/{wamid}")
        assert response.status_code == 200, response.text
        data: dict[str, object] = response.json()
        return data


def make_settings(home: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "home": home,
        "simulator": FAST_RECEIPTS,
        "retry_base": 0.05,
        "meta_app_secret": "test-app-secret",
        "meta_verify_token": "test-verify-token",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def seed(settings: Settings, now: float) -> dict[str, str]:
    db = Database(settings.db_url)
    upgrade(db)
    result = do_bootstrap(db, now)
    db.stop()
    return {
        "token": result.token,
        "phone_number_id": str(result.phone_number_id),
        "waba_id": str(result.waba_id),
    }


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "home")


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(ticking=True)


@contextlib.asynccontextmanager
async def serving(settings: Settings, clock: SettableClock) -> AsyncIterator[Wagate]:
    """wagate running in this process on `settings`, with the demo organization and a client for it."""
    settings.home.mkdir(parents=True, exist_ok=True)
    ids = seed(settings, clock.now())
    rt = build_runtime(settings, clock)
    transport = httpx.ASGITransport(app=create_app(rt))
    headers = {"Authorization": f"Bearer {ids['token']}"}
    async with (
        running(rt),
        httpx.AsyncClient(transport=transport, base_url="http://wagate", headers=headers) as client,
    ):
        yield Wagate(rt, client, ids["token"], ids["phone_number_id"], ids["waba_id"])


@pytest.fixture
async def wagate(settings: Settings, clock: SettableClock) -> AsyncIterator[Wagate]:
    async with serving(settings, clock) as running_wagate:
        yield running_wagate
