"""Faults in a scale-out deployment: two API and two worker processes on PostgreSQL and Redis, under a
steady load well below 1,000 messages a second, while a worker is killed, PostgreSQL restarts, Redis
restarts and is flushed, or the workers' connections are terminated.

Each test owns its PostgreSQL, Redis and fake Meta (see `services.py`), talks only to 127.0.0.1, and
is bounded: a fixed load for a fixed time, then a bounded wait for the last messages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.fault.cluster import Cluster, Load, largest_gap, send_load
from tests.fault.services import ThrowawayPostgres, ThrowawayRedis

pytestmark = pytest.mark.slow

RATE = 200  # the number's rate; the load stays below it unless a test saturates the pacer on purpose
# The Redis test offers more than this, so that the pacer sets the pace throughout. The loads stay
# modest because every process of the deployment shares the test machine (two cores in CI).
SATURATED_RATE = 100
LOAD = 120  # messages a second offered where the pacer should not be the limit
# What the network may see in its busiest sliding second, as a share of the rate: the same bound in
# every test (rate + 5 %). After an outage the backlog goes at exactly the rate, and a send that leaves
# a few milliseconds late lands in the next second at the network (the pacer counts by Redis's clock).
RATE_TOLERANCE = 1.05


@pytest.fixture
def cluster(
    request: pytest.FixtureRequest, tmp_path: Path, pg: ThrowawayPostgres, redis_server: ThrowawayRedis
) -> Iterator[Cluster]:
    """The cluster, its number at RATE (or the rate a test gives with indirect parametrization)."""
    running = Cluster(tmp_path / "cluster", pg, redis_server, getattr(request, "param", RATE))
    try:
        running.start()
        yield running
    finally:
        # Shown with a failure: where each process's log is.
        print(f"logs of every process: {running.folder}")
        running.stop()


def under_load(
    cluster: Cluster, per_second: int, seconds: int, disturb: Callable[[], Awaitable[None]]
) -> tuple[Load, list[str]]:
    """Send `per_second` messages for `seconds` while `disturb` runs; every one must be acknowledged
    (the client retries what fails until a minute has passed). The load and the wamids acknowledged."""

    async def both() -> Load:
        deadline = time.monotonic() + 60
        load, _ = await asyncio.gather(
            send_load(cluster, per_second=per_second, seconds=seconds, deadline=deadline), disturb()
        )
        return load

    load = asyncio.run(both())
    wamids = list(load.acknowledged.values())
    assert len(wamids) == per_second * seconds, load.errors
    return load, wamids


def per_second(times: list[float]) -> list[int]:
    """How many of `times` fell in each whole second from the first."""
    if not times:
        return []
    counts = [0] * (int(times[-1] - times[0]) + 1)
    for t in times:
        counts[int(t - times[0])] += 1
    return counts


def busiest_at(times: list[float]) -> int:
    best, at, j = 0, 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - 1.0:
            j += 1
        if i - j + 1 > best:
            best, at = i - j + 1, i
    return at


def busiest_second(times: list[float]) -> int:
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - 1.0:
            j += 1
        best = max(best, i - j + 1)
    return best


def _all_sent(cluster: Cluster, wamids: list[str], within: float) -> None:
    deadline = time.monotonic() + within
    left = cluster.unsent(wamids)
    while left and time.monotonic() < deadline:
        time.sleep(0.25)
        left = cluster.unsent(wamids)
    assert left == 0, f"{left} of {len(wamids)} acknowledged messages never reached the network"


def test_workers_killed_every_few_seconds_lose_nothing_and_sending_goes_on(cluster: Cluster) -> None:
    killed: list[float] = []

    async def killer() -> None:
        for round_ in range(4):
            await asyncio.sleep(4.0)
            victim = cluster.workers[round_ % 2]
            killed.append(time.time())
            victim.kill()
            await asyncio.sleep(1.0)
            victim.start()

    started = time.time()
    _, wamids = under_load(cluster, LOAD, 20, killer)
    ended = time.time()
    _all_sent(cluster, wamids, within=cluster.lease + cluster.reconciliation + 20)
    gap = largest_gap(cluster.sent_times(), started + 1, ended)
    assert gap <= cluster.lease + 5, f"sending stopped for {gap:.1f} s"
    stats = cluster.meta_stats()
    assert cluster.peak() <= RATE * RATE_TOLERANCE, stats
    kills = [round(k - started, 1) for k in killed]
    print(f"killed workers at {kills} s; longest pause {gap:.2f} s; meta {stats}")


def test_postgresql_restarting_mid_load_is_reconnected_within_ten_seconds(cluster: Cluster) -> None:
    """PostgreSQL stops as in a crash and starts again: requests fail while it is down (the client retries
    them), every process reconnects, and nothing acknowledged is lost or sent twice."""
    restarted: dict[str, float] = {}

    async def restart() -> None:
        await asyncio.sleep(5.0)
        restarted["down_at"] = time.time()
        restarted["took"] = await asyncio.to_thread(cluster.pg.restart)
        restarted["up_at"] = time.time()

    started = time.time()
    load, wamids = under_load(cluster, LOAD, 15, restart)
    ended = time.time()
    _all_sent(cluster, wamids, within=cluster.lease + cluster.reconciliation + 20)
    times = cluster.sent_times()
    first_after = min(t for t in times if t > restarted["up_at"])
    assert first_after - restarted["up_at"] <= 10, (
        f"sending resumed {first_after - restarted['up_at']:.1f} s after"
    )
    # No stall at zero once it is back: a send in every stretch of 2 s until the load ended.
    gap = largest_gap(times, restarted["up_at"] + (first_after - restarted["up_at"]), ended)
    assert gap <= 2.0, f"sending stalled for {gap:.1f} s after PostgreSQL came back"
    stats = cluster.meta_stats()
    assert stats["accepted"] == len(wamids), f"sent twice or more: {stats}"
    assert cluster.peak() <= RATE * RATE_TOLERANCE, stats
    print(
        f"PostgreSQL down {restarted['took']:.1f} s at {restarted['down_at'] - started:.1f} s; first send "
        f"{first_after - restarted['up_at']:.2f} s after it was up; "
        f"{len(load.failures)} requests retried"
    )


@pytest.mark.parametrize("cluster", [SATURATED_RATE], indirect=True)
def test_redis_restarted_and_flushed_never_lets_a_number_over_its_rate(cluster: Cluster) -> None:
    """With more offered than the number's rate, the pacer decides every send; Redis is flushed, then
    killed and started empty. The network never sees the number above its rate + 5 % in any second."""

    began = time.time()
    events: list[tuple[str, float]] = []

    async def disturb() -> None:
        await asyncio.sleep(4.0)
        events.append(("FLUSHALL", time.time() - began))
        await asyncio.to_thread(cluster.redis.flushall)
        await asyncio.sleep(4.0)
        events.append(("kill -9", time.time() - began))
        await asyncio.to_thread(cluster.redis.kill)
        await asyncio.sleep(3.0)
        events.append(("start", time.time() - began))
        await asyncio.to_thread(cluster.redis.start)
        await asyncio.sleep(3.0)
        events.append(("FLUSHALL", time.time() - began))
        await asyncio.to_thread(cluster.redis.flushall)

    _, wamids = under_load(cluster, 150, 16, disturb)
    _all_sent(cluster, wamids, within=2400 / SATURATED_RATE + 10)
    peak = cluster.peak()
    stats = cluster.meta_stats()
    peak_at = stats["peak_at"]
    assert isinstance(peak_at, dict)
    timeline = ", ".join(f"{what} at {at:.1f} s" for what, at in events)
    sent = cluster.sent_times()
    seen = (
        f"busiest second at {peak_at[str(cluster.number_id)] - began:.1f} s; {timeline}; {stats}; "
        f"wagate's busiest: {busiest_second(sent)} at {sent[busiest_at(sent)] - began:.1f}"
    )
    limit = SATURATED_RATE * RATE_TOLERANCE
    assert peak <= limit, f"{peak} sends in one second against a rate of {SATURATED_RATE}: {seen}"
    # It was saturated: the pacer, not the load, set the pace.
    assert peak >= SATURATED_RATE * 0.9, (seen, per_second(cluster.sent_times()))
    print(f"Redis: {timeline}; busiest second at the network: {peak} (rate {SATURATED_RATE}); meta {stats}")


def test_terminated_worker_connections_recover(cluster: Cluster) -> None:
    """`pg_terminate_backend` on every connection of both workers, twice: they reconnect and send on."""
    terminated: list[tuple[float, int]] = []

    async def terminate() -> None:
        for _ in range(2):
            await asyncio.sleep(4.0)
            count = await asyncio.to_thread(cluster.pg.terminate, "wagate-worker")
            terminated.append((time.time(), count))

    started = time.time()
    _, wamids = under_load(cluster, LOAD, 12, terminate)
    ended = time.time()
    assert all(count > 0 for _, count in terminated), terminated
    _all_sent(cluster, wamids, within=cluster.lease + cluster.reconciliation + 20)
    gap = largest_gap(cluster.sent_times(), started + 1, ended)
    assert gap <= cluster.lease + 5, f"sending stopped for {gap:.1f} s"
    stats = cluster.meta_stats()
    assert stats["accepted"] == len(wamids), f"sent twice or more: {stats}"
    print(f"terminated {[c for _, c in terminated]} connections; longest pause {gap:.2f} s")


def test_one_idempotency_key_sent_to_both_api_processes_at_once_makes_one_message(cluster: Cluster) -> None:
    """Deduplication holds across processes because the database enforces it (the key is the primary
    key of its table), not a cache: the same request, four times at once through two processes."""

    async def scenario() -> list[set[str]]:
        headers = {"Authorization": f"Bearer {cluster.token}"}
        async with httpx.AsyncClient(timeout=30.0, headers=headers) as client:

            async def same_four_times(i: int) -> set[str]:
                body = {
                    "messaging_product": "whatsapp",
                    "to": f"+7927{i:07d}",
                    "type": "template",
                    "template": {"name": "hello_world", "language": {"code": "en_US"}},
                }
                responses = await asyncio.gather(
                    *(
                        client.post(
                            f"{cluster.apis[n % 2].url}/v23.0/{cluster.number_id}/messages",
                            json=body,
                            headers={"Idempotency-Key": f"same-{i}"},
                        )
                        for n in range(4)
                    )
                )
                assert all(r.status_code == 200 for r in responses), [
                    (r.status_code, r.text) for r in responses
                ]
                return {r.json()["messages"][0]["id"] for r in responses}

            return list(await asyncio.gather(*(same_four_times(i) for i in range(100))))

    answered = asyncio.run(scenario())
    assert all(len(wamids) == 1 for wamids in answered), [w for w in answered if len(w) > 1]
    with psycopg.connect(cluster.pg.url) as conn:
        row = conn.execute("SELECT count(*) FROM messages WHERE direction = 'out'").fetchone()
    assert row is not None and row[0] == 100
