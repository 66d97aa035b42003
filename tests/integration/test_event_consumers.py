"""Event consumers: each follows the event stream with its own cursor, sees every event once, and
retries the events it failed on without holding back its other events or the other consumers."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Connection, select

from tests.conftest import Wagate
from tests.helpers import eventually
from wagate.clock import SettableClock
from wagate.store.db import Job
from wagate.store.event_consumers import Event, positions
from wagate.store.events import NewEvent, record_events
from wagate.store.schema import event_retries, events
from wagate.workers.consumer import EventConsumer


@dataclass(slots=True)
class RecordEvents(Job[None]):
    new: list[NewEvent]

    def run(self, conn: Connection) -> None:
        record_events(conn, self.new)


class Collector(EventConsumer):
    """A second consumer beside the webhook fan-out: remembers what it was handed."""

    name = "collector"
    batch = 7  # smaller than what is recorded, so the cursor moves over several batches

    def __init__(self, *args: object, failing: set[int] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.seen: list[int] = []
        self.failing = failing or set()  # payload numbers refused until the set is emptied

    def backoff(self, attempts: int) -> float:
        return 60.0  # fixed here (the base class jitters it), so that the test can tell when it is due

    async def handle(self, event: Event) -> None:
        assert event.payload is not None
        if event.payload["n"] in self.failing:
            raise RuntimeError(f"cannot handle {event.payload['n']} yet")
        self.seen.append(int(event.payload["n"]))


def _record(w: Wagate, first: int, count: int) -> None:
    now = w.rt.clock.now()
    org_id = w.rt.db.read_now(lambda c: int(c.execute(select(events.c.org_id).limit(1)).scalar() or 0))
    new = [NewEvent(org_id or 1, "test.event", {"n": n}, now) for n in range(first, first + count)]
    w.rt.db.write_now(RecordEvents(new))


def _event_ids(w: Wagate) -> list[int]:
    return list(w.rt.db.read_now(lambda c: c.execute(select(events.c.id).order_by(events.c.id)).scalars()))


def _position(w: Wagate, name: str) -> int:
    return w.rt.db.read_now(positions).get(name, -1)


async def test_a_second_consumer_and_the_webhook_fan_out_each_see_every_event_once(wagate: Wagate) -> None:
    collector = Collector(wagate.rt)
    collector.start()
    try:
        for batch in range(3):  # in three commits, while both consumers run
            _record(wagate, batch * 10, 10)
        ids = _event_ids(wagate)

        async def both_passed_everything() -> bool:
            return _position(wagate, "collector") == ids[-1] and _position(wagate, "webhooks") == ids[-1]

        await eventually(both_passed_everything)
        # The demo's own events (if any) have no "n"; the 30 recorded here are each seen exactly once.
        assert Counter(collector.seen) == Counter(range(30))
        assert collector.seen == sorted(collector.seen)  # in the order they were recorded
    finally:
        await collector.stop()
    # A consumer that stopped goes on from its cursor: nothing is handed to it twice.
    again = Collector(wagate.rt)
    again.start()
    try:
        _record(wagate, 100, 2)
        last = _event_ids(wagate)[-1]

        async def caught_up() -> bool:
            return _position(wagate, "collector") == last

        await eventually(caught_up)
        assert again.seen == [100, 101]
    finally:
        await again.stop()


async def test_a_failing_event_is_retried_with_backoff_while_the_others_go_on(
    wagate: Wagate, clock: SettableClock
) -> None:
    collector = Collector(wagate.rt, failing={3})
    collector.start()
    try:
        _record(wagate, 0, 10)
        ids = _event_ids(wagate)

        async def passed() -> bool:
            return _position(wagate, "collector") == ids[-1] and _position(wagate, "webhooks") == ids[-1]

        await eventually(passed)
        # Every other event was handled, after the one that failed; the fan-out was not held back.
        assert collector.seen == [0, 1, 2, 4, 5, 6, 7, 8, 9]
        retry = wagate.rt.db.read_now(lambda c: c.execute(select(event_retries)).one())
        assert retry.consumer == "collector" and retry.attempts == 1 and "cannot handle 3" in retry.last_error
        assert retry.next_attempt_at > clock.now()  # not before its backoff
        metrics = (await wagate.client.get("/metrics")).text
        assert 'wagate_event_consumer_retries{consumer="collector"} 1.0' in metrics
        assert 'wagate_event_consumer_lag{consumer="collector"} 0.0' in metrics

        collector.failing.clear()
        clock.set(retry.next_attempt_at + 0.001)

        async def retried() -> bool:
            left = wagate.rt.db.read_now(lambda c: c.execute(select(event_retries)).all())
            return 3 in collector.seen and not left  # handled, then forgotten in the next commit

        await eventually(retried)
        assert collector.seen.count(3) == 1
    finally:
        await collector.stop()


async def test_lag_counts_the_events_a_consumer_has_not_reached(wagate: Wagate) -> None:
    _record(wagate, 0, 5)
    collector = Collector(wagate.rt, failing=set())
    # One step by hand: a claim of 7 over 5 events reaches the end, and the lag is 0; the lag of a
    # consumer that has not started is not reported.
    assert await collector.step() is False
    metrics = (await wagate.client.get("/metrics")).text
    assert 'wagate_event_consumer_lag{consumer="collector"} 0.0' in metrics
    _record(wagate, 5, 20)
    assert await collector.step() is True  # a full batch: more is waiting
    metrics = (await wagate.client.get("/metrics")).text
    assert 'wagate_event_consumer_lag{consumer="collector"} 13.0' in metrics
    assert collector.seen == list(range(12))
