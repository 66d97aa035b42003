"""The dispatcher under faults: retries, sends in doubt, time-to-live, a clean stop."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from tests.conftest import Wagate, make_settings, seed, serving
from tests.helpers import eventually
from wagate.clock import SettableClock
from wagate.store import tenancy as tenancy_sql
from wagate.store.db import Database, Job
from wagate.store.messages import OutcomeKind, SendOutcome
from wagate.store.schema import outbox
from wagate.upstreams.simulator import SimulatorUpstream

T = TypeVar("T")

TEXT = {"messaging_product": "whatsapp", "to": "+79161234567", "type": "text", "text": {"body": "hello"}}


def simulator(w: Wagate) -> SimulatorUpstream:
    assert w.rt.simulator is not None
    return w.rt.simulator


async def send_text(w: Wagate) -> str:
    """A reply to a customer who has just written (so their window is open)."""
    await w.customer_writes("79161234567")
    response = await w.send(TEXT)
    assert response.status_code == 200, response.text
    return str(response.json()["messages"][0]["id"])


async def until_status(w: Wagate, wamid: str, *statuses: str, within: float = 10.0) -> dict[str, object]:
    async def check() -> dict[str, object] | None:
        message = await w.message(wamid)
        return message if message["status"] in statuses else None

    result: dict[str, object] = await eventually(check, within=within)
    return result


def outbox_size(w: Wagate, *, leased_only: bool = False) -> int:
    query = select(func.count()).select_from(outbox)
    if leased_only:
        query = query.where(outbox.c.lease_until.is_not(None))
    if w.rt.db.is_running:
        return int(w.rt.db.read_now(lambda c: c.execute(query).scalar_one()))
    # after a stop the runtime's database is closed: open it again to look
    db = Database(w.rt.settings.db_url)
    try:
        return int(db.read_now(lambda c: c.execute(query).scalar_one()))
    finally:
        db.stop()


async def test_throttling_is_retried_until_it_passes(wagate: Wagate) -> None:
    sim = simulator(wagate)
    sim.rules.faults.update({"throttle": 1.0})
    wamid = await send_text(wagate)

    async def retried() -> bool:
        delivery = (await wagate.message(wamid)).get("delivery")
        return (
            isinstance(delivery, dict)
            and delivery["attempts"] >= 2
            and delivery["last_error"]["code"] == 130429
        )

    await eventually(retried)
    sim.rules.faults.update({"throttle": 0.0})
    await until_status(wagate, wamid, "read")
    assert sim.accepted == 1


async def test_server_errors_until_the_time_to_live_end_failed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "home", ttl_class1=1.0)
    async with serving(settings, SettableClock(ticking=True)) as w:
        simulator(w).rules.faults.update({"server_error": 1.0})
        wamid = await send_text(w)
        message = await until_status(w, wamid, "failed")
        error = message["error"]
        assert isinstance(error, dict)
        assert (error["code"], error["title"]) == (131000, "Something went wrong")
        assert error["details"]
        assert simulator(w).accepted == 0


async def test_send_in_doubt_is_settled_by_its_status_without_a_resend(wagate: Wagate) -> None:
    sim = simulator(wagate)
    sim.rules.faults.update({"timeout": 1.0})
    wamid = await send_text(wagate)
    await until_status(wagate, wamid, "read")
    sim.rules.faults.update({"timeout": 0.0})
    wagate.rt.clock.advance(wagate.rt.settings.reconciliation_window + 5)  # type: ignore[attr-defined]
    assert outbox_size(wagate) == 0
    assert sim.accepted == 1


async def test_lost_send_is_sent_again_after_the_reconciliation_window(wagate: Wagate) -> None:
    sim = simulator(wagate)
    sim.rules.faults.update({"lost": 1.0})
    wamid = await send_text(wagate)

    async def in_doubt() -> bool:
        delivery = (await wagate.message(wamid)).get("delivery")
        return isinstance(delivery, dict) and delivery["attempts"] == 1 and delivery["last_error"] is not None

    await eventually(in_doubt)
    sim.rules.faults.update({"lost": 0.0})
    assert sim.accepted == 0
    wagate.rt.clock.advance(wagate.rt.settings.reconciliation_window + 1)  # type: ignore[attr-defined]
    await until_status(wagate, wamid, "read")
    assert sim.accepted == 1


async def test_an_outcome_the_database_refused_for_a_while_is_recorded_without_a_resend(
    wagate: Wagate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database goes away just after a send reached the network (a restart): the lane keeps the
    outcome and writes it once the database answers, so the message is not sent a second time."""
    sim = simulator(wagate)
    write = wagate.rt.db.write
    refused: list[SendOutcome] = []
    recorded: list[SendOutcome] = []

    async def flaky_write(job: Job[T]) -> T:
        if isinstance(job, SendOutcome) and job.kind == OutcomeKind.SENT:
            if len(refused) < 3:
                refused.append(job)
                raise OperationalError("UPDATE", {}, ConnectionError("server closed the connection"))
            result = await write(job)
            recorded.append(job)
            return result
        return await write(job)

    monkeypatch.setattr(wagate.rt.db, "write", flaky_write)
    wamid = await send_text(wagate)

    async def written() -> bool:
        return bool(recorded)

    await eventually(written)
    assert len(refused) == 3 and recorded[0].message_id == refused[0].message_id
    monkeypatch.setattr(wagate.rt.db, "write", write)
    # Past the lease and the reconciliation window: nothing is left in doubt to send again.
    settings = wagate.rt.settings
    wagate.rt.clock.advance(settings.lease_seconds + settings.reconciliation_window + 5)  # type: ignore[attr-defined]
    await until_status(wagate, wamid, "read")
    assert outbox_size(wagate) == 0
    assert sim.accepted == 1
    message = await wagate.message(wamid)
    assert message["status"] == "read"


async def test_clean_stop_gives_unsent_messages_back(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "home")
    clock = SettableClock(ticking=True)
    settings.home.mkdir(parents=True)
    ids = seed(settings, clock.now())
    db = Database(settings.db_url)
    db.write_now(tenancy_sql.UpdateNumberRate(int(ids["phone_number_id"]), 2))
    db.stop()
    async with serving(settings, clock) as w:
        for i in range(10):
            await w.customer_writes(f"7916123{i:04d}")
            response = await w.send({**TEXT, "to": f"+7916123{i:04d}"})
            assert response.status_code == 200
    assert outbox_size(w, leased_only=True) == 0
    assert 0 < outbox_size(w) < 10
    async with serving(settings, clock) as again:

        async def drained() -> bool:
            return outbox_size(again) == 0

        await eventually(drained, within=15)


async def test_duplicated_and_reordered_receipts_apply_once_and_forward_only(wagate: Wagate) -> None:
    sim = simulator(wagate)
    sim.rules.faults.update({"duplicate_receipts": 1.0, "reorder_receipts": 1.0})
    wamids = [await send_text(wagate) for _ in range(5)]

    async def every_receipt_twice() -> bool:
        return sim.receipts_delivered >= 5 * 3 * 2

    await eventually(every_receipt_twice)
    for wamid in wamids:
        message = await wagate.message(wamid)
        statuses = [h["status"] for h in message["history"]]  # type: ignore[attr-defined]
        assert sorted(statuses) == sorted(["accepted", "sent", "delivered", "read"])  # each once
        assert message["status"] == "read"  # never moved back by a late "sent" or "delivered"
