"""Fixtures: a running wagate in this process, reached over HTTP through its ASGI app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests import databases
from wagate.clock import SettableClock
from wagate.services import simulator_sync
from wagate.services.runtime import Runtime
from wagate.services.tenancy import do_bootstrap
from wagate.settings import Settings, SimulatorSettings
from wagate.store.db import Database
from wagate.store.migrate import upgrade
from wagate.web.app import build_runtime, create_app, running

FAST_RECEIPTS = SimulatorSettings(sent_delay=0.01, delivered_delay=0.02, read_delay=0.03)

# Every runtime `serving` started during the current test: the guard below checks their simulators.
_served: list[Runtime] = []


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

    async def customer_writes(
        self,
        wa_id: str,
        text: str = "Hello",
        name: str = "Customer",
        *,
        phone_number_id: str | int | None = None,
        token: str | None = None,
    ) -> str:
        """A customer writes to a business number (the demo one unless given, with `token` for another
        organization's) through the simulated network, which opens their 24-hour window: free-form
        messages may then be sent to them. Returns the inbound message id."""
        response = await self.client.post(
            "/api/v1/simulator/messages",
            json={
                "phone_number_id": str(phone_number_id or self.phone_number_id),
                "from": wa_id,
                "text": text,
                "name": name,
            },
            headers={} if token is None else {"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.text
        message_id: str = response.json()["id"]
        return message_id

    async def opt_in(self, *wa_ids: str, purpose: str = "marketing", token: str | None = None) -> None:
        """Record the customers' opt-in, as a business imports the consents it collected."""
        records = [
            {"phone": wa_id, "purpose": purpose, "action": "opt_in", "source": "test", "proof": "signed up"}
            for wa_id in wa_ids
        ]
        response = await self.client.post(
            "/api/v1/consents/import",
            json={"records": records},
            headers={} if token is None else {"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text

    async def template_added(self, template_id: int) -> None:
        """A template written straight to the database (tests/factories.py) reaches the simulated
        network's copy, as one created through the API does."""
        await simulator_sync.template_changed(self.rt, template_id)

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
    if databases.on_postgresql():
        values["database_url"] = databases.database_url(home)
        values["encryption_keys"] = databases.ENCRYPTION_KEYS
        values.update(databases.redis_settings(home))
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
    _served.append(rt)
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


@pytest.fixture(autouse=True)
def throwaway_databases() -> Iterator[None]:
    """Drop the PostgreSQL databases the test made (none on SQLite: those live in `tmp_path`)."""
    yield
    databases.drop_created()


@pytest.fixture(autouse=True)
def simulator_refused_nothing(request: pytest.FixtureRequest) -> Iterator[None]:
    """wagate checks every policy rule before sending, so the simulated network, which enforces the same
    rules on its own, must refuse nothing. A test that breaks a rule on purpose is marked
    `@pytest.mark.simulator_refusals`."""
    _served.clear()
    yield
    served = list(_served)
    _served.clear()
    if request.node.get_closest_marker("simulator_refusals") is not None:
        return
    for rt in served:
        if rt.simulator is None:
            continue
        refused = {rule: count for rule, count in rt.simulator.rules.refusals.items() if count}
        assert not refused, (
            f"the simulator refused sends wagate should have caught first: {refused} "
            "(mark the test @pytest.mark.simulator_refusals if it breaks a rule on purpose)"
        )
