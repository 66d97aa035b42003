"""The simulated network enforces Meta's policy on its own, from its own state: each rule refuses (or
fails later, as Meta does) with Meta's code when broken and lets the send through when respected.

The simulator upstream is driven directly, with a fake ingest, so none of this depends on wagate's own
checks; a few tests at the end go through wagate for what wagate adds (the sync, the control API,
the counters).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Wagate
from tests.helpers import eventually
from wagate.clock import SettableClock
from wagate.services import templates as template_service
from wagate.settings import SimulatorSettings
from wagate.upstreams.base import NumberRef, TemplateCopy, UpstreamError
from wagate.upstreams.simulator import SimulatorUpstream

pytestmark = pytest.mark.simulator_refusals

FAST = SimulatorSettings(sent_delay=0.01, delivered_delay=0.02, read_delay=0.03)
NUMBER = NumberRef(11, "+7 495 555-01-00", 21, 1000)
CUSTOMER = "79161234567"
DAY = 24 * 3600.0

ORDER_SHIPPED = [{"type": "BODY", "text": "Hi {{1}}, order {{2}} has shipped."}]
PROMO = [{"type": "BODY", "text": "This week only: {{1}} off."}]


class Network:
    """A simulator with a fake wagate behind it: every envelope it reports is kept."""

    def __init__(self, journal: Path, clock: SettableClock, **settings: Any) -> None:
        self.clock = clock
        self.upstream = SimulatorUpstream(clock, SimulatorSettings(**{**vars_of(FAST), **settings}), journal)
        self.bodies: list[dict[str, Any]] = []

    async def ingest(self, body: bytes) -> None:
        self.bodies.append(json.loads(body))

    def changes(self, field: str) -> list[dict[str, Any]]:
        return [
            change["value"]
            for body in self.bodies
            for entry in body["entry"]
            for change in entry["changes"]
            if change["field"] == field
        ]

    def statuses(self, sim_id: str) -> list[dict[str, Any]]:
        return [
            s for value in self.changes("messages") for s in value.get("statuses", []) if s["id"] == sim_id
        ]

    async def final_status(self, sim_id: str) -> dict[str, Any]:
        async def final() -> dict[str, Any] | None:
            return next((s for s in self.statuses(sim_id) if s["status"] in ("read", "failed")), None)

        found: dict[str, Any] = await eventually(final)
        return found


def vars_of(settings: SimulatorSettings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.__slots__}  # type: ignore[attr-defined]


@pytest.fixture
async def network(tmp_path: Path) -> AsyncIterator[Network]:
    net = Network(tmp_path / "journal.jsonl", SettableClock(1_700_000_000.0))
    await net.upstream.start(net.ingest)
    net.upstream.sync_template(
        TemplateCopy(
            NUMBER.waba_id, 100, "order_shipped", "en_US", "APPROVED", "UTILITY", "positional", ORDER_SHIPPED
        )
    )
    net.upstream.sync_template(
        TemplateCopy(NUMBER.waba_id, 101, "promo", "en_US", "APPROVED", "MARKETING", "positional", PROMO)
    )
    yield net
    await net.upstream.close()


def text(to: str = CUSTOMER) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "Hello"}}


def template(name: str, *body: str, to: str = CUSTOMER) -> dict[str, Any]:
    parameters = [{"type": "text", "text": value} for value in body]
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": parameters}],
        },
    }


def shipped(to: str = CUSTOMER) -> dict[str, Any]:
    return template("order_shipped", "Anna", "A-1001", to=to)


async def refused_code(upstream: SimulatorUpstream, payload: dict[str, Any]) -> int:
    with pytest.raises(UpstreamError) as refused:
        await upstream.send(NUMBER, payload)
    return refused.value.code


async def write(network: Network, wa_id: str = CUSTOMER) -> None:
    await network.upstream.customer_message(NUMBER, wa_id, "Anna", {"type": "text", "text": {"body": "Hi"}})


async def test_free_form_is_refused_outside_the_window_and_accepted_inside(network: Network) -> None:
    sim = network.upstream
    assert await refused_code(sim, text()) == 131047
    assert sim.rules.refusals["window"] == 1
    await write(network)
    sim_id = await sim.send(NUMBER, text())
    assert (await network.final_status(sim_id))["status"] == "read"
    network.clock.advance(DAY + 1)
    assert await refused_code(sim, text()) == 131047
    assert sim.rules.refusals["window"] == 2


async def test_an_open_window_survives_a_restart(tmp_path: Path) -> None:
    clock = SettableClock(1_700_000_000.0)
    first = Network(tmp_path / "journal.jsonl", clock)
    await first.upstream.start(first.ingest)
    await write(first)
    await first.upstream.close()

    second = Network(tmp_path / "journal.jsonl", clock)
    await second.upstream.start(second.ingest)
    try:
        await second.upstream.send(NUMBER, text())
        assert await refused_code(second.upstream, text("79160000001")) == 131047
        clock.advance(DAY)
        assert await refused_code(second.upstream, text()) == 131047
    finally:
        await second.upstream.close()


@pytest.mark.parametrize(
    ("status", "code"), [("PENDING", 132001), ("REJECTED", 132001), ("PAUSED", 132015), ("DISABLED", 132016)]
)
async def test_templates_that_are_not_approved_are_refused(network: Network, status: str, code: int) -> None:
    sim = network.upstream
    sim.sync_template(
        TemplateCopy(
            NUMBER.waba_id, 100, "order_shipped", "en_US", status, "UTILITY", "positional", ORDER_SHIPPED
        )
    )
    assert await refused_code(sim, shipped()) == code
    assert sim.rules.refusals["template"] == 1
    sim.sync_template(
        TemplateCopy(
            NUMBER.waba_id, 100, "order_shipped", "en_US", "APPROVED", "UTILITY", "positional", ORDER_SHIPPED
        )
    )
    await sim.send(NUMBER, shipped())


async def test_unknown_and_forgotten_templates_and_wrong_parameter_counts_are_refused(
    network: Network,
) -> None:
    sim = network.upstream
    assert await refused_code(sim, template("no_such_template")) == 132001
    assert await refused_code(sim, template("order_shipped", "Anna")) == 132000
    assert await refused_code(sim, template("order_shipped", "Anna", "A-1001", "extra")) == 132000
    sim_id = await sim.send(NUMBER, shipped())
    assert (await network.final_status(sim_id))["status"] == "read"
    sim.forget_template(NUMBER.waba_id, 100)
    assert await refused_code(sim, shipped()) == 132001
    assert sim.rules.refusals["template"] == 4


async def test_the_251st_new_customer_of_a_new_account_fails_with_131049(network: Network) -> None:
    sim = network.upstream
    ids = [await sim.send(NUMBER, shipped(f"7916{i:04d}123")) for i in range(251)]
    assert sim.rules.refusals["tier"] == 1
    again = await sim.send(NUMBER, shipped("79160000123"))
    last = await network.final_status(ids[250])
    assert last["status"] == "failed"
    assert last["errors"][0]["code"] == 131049
    assert last["errors"][0]["error_data"]["details"] == "messaging limit reached"
    assert (await network.final_status(ids[249]))["status"] == "read"
    assert (await network.final_status(again))["status"] == "read"  # already counted today
    assert sim.rules.refusals["tier"] == 1


async def test_the_messaging_limit_counts_survive_a_restart(tmp_path: Path) -> None:
    clock = SettableClock(1_700_000_000.0)
    first = Network(tmp_path / "journal.jsonl", clock)
    await first.upstream.start(first.ingest)
    first.upstream.sync_template(
        TemplateCopy(
            NUMBER.waba_id, 100, "order_shipped", "en_US", "APPROVED", "UTILITY", "positional", ORDER_SHIPPED
        )
    )
    first.upstream.sync_account(NUMBER.waba_id, 2)
    await first.upstream.send(NUMBER, shipped("79160000001"))
    await first.upstream.send(NUMBER, shipped("79160000002"))
    await first.upstream.close()

    second = Network(tmp_path / "journal.jsonl", clock)
    await second.upstream.start(second.ingest)
    second.upstream.sync_template(
        TemplateCopy(
            NUMBER.waba_id, 100, "order_shipped", "en_US", "APPROVED", "UTILITY", "positional", ORDER_SHIPPED
        )
    )
    second.upstream.sync_account(NUMBER.waba_id, 2)
    try:
        third = await second.upstream.send(NUMBER, shipped("79160000003"))
        assert (await second.final_status(third))["errors"][0]["code"] == 131049
        again = await second.upstream.send(NUMBER, shipped("79160000001"))
        assert (await second.final_status(again))["status"] == "read"
    finally:
        await second.upstream.close()


async def test_marketing_beyond_the_per_customer_cap_fails_with_131049(network: Network) -> None:
    sim = network.upstream
    ids = [await sim.send(NUMBER, template("promo", "20%")) for _ in range(3)]
    assert [(await network.final_status(i))["status"] for i in ids] == ["read", "read", "failed"]
    assert (await network.final_status(ids[2]))["errors"][0]["code"] == 131049
    assert sim.rules.refusals["marketing_limit"] == 1
    other = await sim.send(NUMBER, template("promo", "20%", to="79160000001"))
    assert (await network.final_status(other))["status"] == "read"


async def test_marketing_to_us_numbers_fails_with_131049(network: Network) -> None:
    sim = network.upstream
    promo = await sim.send(NUMBER, template("promo", "20%", to="12025550123"))
    failed = await network.final_status(promo)
    assert failed["status"] == "failed" and failed["errors"][0]["code"] == 131049
    assert "US numbers" in failed["errors"][0]["error_data"]["details"]
    utility = await sim.send(NUMBER, shipped("12025550123"))
    assert (await network.final_status(utility))["status"] == "read"
    assert sim.rules.refusals["us_marketing"] == 1


async def test_a_stop_refuses_marketing_with_131050_until_resumed(network: Network) -> None:
    sim = network.upstream
    await sim.customer_preferences(NUMBER, CUSTOMER, "stop")
    [value] = network.changes("user_preferences")
    [preference] = value["user_preferences"]
    assert preference["wa_id"] == CUSTOMER and preference["value"] == "stop"
    assert preference["category"] == "marketing_messages"
    assert network.bodies[-1]["entry"][0]["id"] == str(NUMBER.waba_id)
    assert await refused_code(sim, template("promo", "20%")) == 131050
    assert sim.rules.refusals["opted_out"] == 1
    await sim.send(NUMBER, shipped())  # utility is not marketing
    await sim.customer_preferences(NUMBER, CUSTOMER, "resume")
    assert network.changes("user_preferences")[-1]["user_preferences"][0]["value"] == "resume"
    await sim.send(NUMBER, template("promo", "20%"))
    with pytest.raises(ValueError):
        await sim.customer_preferences(NUMBER, CUSTOMER, "maybe")


# -- through wagate -----------------------------------------------------------------------------------
def demo_ref(wagate: Wagate) -> NumberRef:
    return NumberRef(int(wagate.phone_number_id), "+7 495 555-01-00", int(wagate.waba_id), 80)


async def test_wagate_tells_the_simulator_its_templates_at_start_and_when_they_change(wagate: Wagate) -> None:
    sim = wagate.rt.simulator
    assert sim is not None
    ref = demo_ref(wagate)
    hello = {
        "to": CUSTOMER,
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}},
    }
    await sim.send(ref, hello)  # seeded before start, told by sync_all

    created = await wagate.client.post(
        f"/v23.0/{wagate.waba_id}/message_templates",
        json={
            "name": "order_shipped",
            "language": "en_US",
            "category": "UTILITY",
            "components": [
                {
                    "type": "BODY",
                    "text": "Hi {{1}}, order {{2}} has shipped.",
                    "example": {"body_text": [["Anna", "A-1"]]},
                },
            ],
        },
    )
    assert created.status_code == 200, created.text
    template_id = int(created.json()["id"])
    with pytest.raises(UpstreamError) as pending:
        await sim.send(ref, shipped())
    assert pending.value.code == 132001
    assert await template_service.do_set_template_status(wagate.rt, template_id, "APPROVED")
    await sim.send(ref, shipped())
    assert await template_service.do_set_template_status(wagate.rt, template_id, "PAUSED")
    with pytest.raises(UpstreamError) as paused:
        await sim.send(ref, shipped())
    assert paused.value.code == 132015


async def test_preferences_route_reaches_wagate_and_refusals_are_visible(wagate: Wagate) -> None:
    answer = await wagate.client.post(
        "/api/v1/simulator/preferences",
        json={"phone_number_id": wagate.phone_number_id, "wa_id": "+7 916 123-45-67", "value": "stop"},
    )
    assert answer.status_code == 200, answer.text
    bad = await wagate.client.post(
        "/api/v1/simulator/preferences",
        json={"phone_number_id": wagate.phone_number_id, "wa_id": CUSTOMER, "value": "later"},
    )
    assert bad.status_code == 400

    async def recorded() -> bool:
        events = await wagate.rt.db.read(
            lambda conn: conn.exec_driver_sql(
                "SELECT COUNT(*) FROM events WHERE type = 'contact.preferences'"
            ).scalar()
        )
        return bool(events)

    await eventually(recorded)

    sim = wagate.rt.simulator
    assert sim is not None
    with pytest.raises(UpstreamError):
        await sim.send(demo_ref(wagate), text())
    stats = (await wagate.client.get("/api/v1/simulator/stats")).json()
    assert stats["refusals"]["window"] == 1
    assert stats["refusals"]["tier"] == 0
    metrics = (await wagate.client.get("/metrics")).text
    assert 'wagate_simulator_refusals_total{rule="window"} 1.0' in metrics
    assert 'wagate_simulator_refusals_total{rule="opted_out"} 0.0' in metrics
