"""Pacing shared through Redis: workers together never exceed a number's rate, and fail safe.

Runs against the local Redis (127.0.0.1:6379, keys of its own, deleted after) and skips with the reason
when there is none. Each test is bounded in time (a few seconds) and in count.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from tests.conftest import make_settings, serving
from tests.helpers import eventually, free_port
from wagate.clock import SettableClock
from wagate.workers.shared_pacing import SharedPacer

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def client() -> AsyncIterator[aioredis.Redis]:
    redis = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=1.0)
    try:
        await redis.ping()
    except (RedisError, OSError) as exc:
        await redis.aclose()
        pytest.skip(f"no Redis at {REDIS_URL} ({exc!r}): shared pacing needs one")
    yield redis
    await redis.aclose()


def number_id() -> int:
    return secrets.randbelow(10**12) + 10**12


async def send_for(pacer: SharedPacer, seconds: float, granted: list[int]) -> None:
    """Send as fast as the pacer allows for `seconds`, noting Redis's time of each grant."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        grant = await pacer.take()
        if grant.wait > 0:
            await asyncio.sleep(min(grant.wait, max(0.0, deadline - time.monotonic())))
            continue
        assert grant.shared and grant.at_us is not None
        granted.append(grant.at_us)


def busiest_window(times_us: list[int], window_us: int = 1_000_000) -> int:
    ordered = sorted(times_us)
    best, start = 0, 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - window_us:
            start += 1
        best = max(best, end - start + 1)
    return best


async def drop_keys(client: aioredis.Redis, pacer: SharedPacer) -> None:
    await client.delete(*pacer.keys)


async def test_two_workers_together_never_exceed_the_rate(client: aioredis.Redis) -> None:
    number = number_id()
    first, second = (SharedPacer(client, number, 50, worker_id=f"w{i}") for i in (1, 2))
    granted: list[int] = []
    try:
        await asyncio.gather(send_for(first, 2.5, granted), send_for(second, 2.5, granted))
    finally:
        await drop_keys(client, first)
    assert busiest_window(granted) <= 50
    assert len(granted) >= 100  # both kept sending: about the rate for the whole time
    assert first.workers == second.workers == 2


async def test_a_missing_key_starts_empty(client: aioredis.Redis) -> None:
    pacer = SharedPacer(client, number_id(), 20)
    try:
        grants = [await pacer.take() for _ in range(21)]
    finally:
        await drop_keys(client, pacer)
    assert all(g.wait == 0 for g in grants[:20])
    assert 0 < grants[20].wait <= 1.0


async def test_lost_keys_are_rebuilt_from_each_workers_own_sends(client: aioredis.Redis) -> None:
    """What FLUSHALL (or a Redis restart without persistence) does to the keys, mid-load."""
    number = number_id()
    workers = [SharedPacer(client, number, 40, worker_id=f"w{i}") for i in range(3)]
    granted: list[int] = []

    async def flush_twice() -> None:
        for _ in range(2):
            await asyncio.sleep(0.8)
            await drop_keys(client, workers[0])

    try:
        await asyncio.gather(flush_twice(), *(send_for(w, 2.5, granted) for w in workers))
    finally:
        await drop_keys(client, workers[0])
    assert busiest_window(granted) <= 40 * 1.05
    assert len(granted) >= 80


async def test_rebuilt_sends_keep_their_ages_so_pacing_stays_smooth(client: aioredis.Redis) -> None:
    """Sends put back after the keys were lost keep the times they were made at: dated all "now", the
    whole rate would be let go at once a second later."""
    pacer = SharedPacer(client, number_id(), 50, worker_id="w")
    granted: list[int] = []
    try:
        for _ in range(30):  # one send every 20 ms, below the rate: every one is let go
            grant = await pacer.take()
            assert grant.wait == 0 and grant.at_us is not None
            granted.append(grant.at_us)
            await asyncio.sleep(0.02)
        await drop_keys(client, pacer)
        await pacer.take()
        scores = [score for _, score in await client.zrange(pacer.keys[0], 0, -1, withscores=True)]
    finally:
        await drop_keys(client, pacer)
    assert len(scores) >= len(granted)
    assert max(scores) - min(scores) >= 400_000  # microseconds: spread as they were, not bunched


async def test_after_lost_keys_a_worker_keeps_to_its_share_until_the_others_are_back(
    client: aioredis.Redis,
) -> None:
    """The first worker to call after the keys were lost must not take the places of the others, whose
    recent sends are not in the log until they call again."""
    number = number_id()
    first, second = (SharedPacer(client, number, 40, worker_id=f"w{i}") for i in (1, 2))
    granted: list[int] = []
    try:
        # Both let go a burst at the start and another a window later; the keys go soon after that.
        await asyncio.gather(send_for(first, 1.3, granted), send_for(second, 1.3, granted))
        await drop_keys(client, first)
        await send_for(first, 0.9, granted)  # the second worker stays silent meanwhile
    finally:
        await drop_keys(client, first)
    assert busiest_window(granted) <= 40 * 1.05
    assert len(granted) >= 40


def unretried_client(port: int) -> aioredis.Redis:
    """A client of the throwaway Redis that gives up at once: a worker's view of a Redis that is gone."""
    return aioredis.Redis(
        host="127.0.0.1",
        port=port,
        socket_connect_timeout=0.2,
        socket_timeout=0.2,
        retry=Retry(NoBackoff(), 0),
    )


async def shut_down(redis: aioredis.Redis) -> None:
    # SHUTDOWN closes the connection as it goes.
    with contextlib.suppress(RedisError, OSError):
        await redis.execute_command("SHUTDOWN", "NOSAVE")


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[int]:
    """A throwaway `redis-server` on a free port, that a test may stop and start again."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed: the fault test needs its own Redis to stop")
    port = free_port()
    server = ThrowawayRedis(port, tmp_path)
    server.start()
    yield port
    server.stop()


class ThrowawayRedis:
    def __init__(self, port: int, folder: Path) -> None:
        self.port = port
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.1):
                return
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


async def test_without_redis_each_worker_keeps_to_its_share(own_redis: int) -> None:
    redis = unretried_client(own_redis)
    number = number_id()
    alone, other = (SharedPacer(redis, number, 40, worker_id=f"w{i}") for i in range(2))
    await other.take()
    await alone.take()  # both are known to Redis: the rate is shared by two
    assert alone.workers == 2
    await shut_down(redis)
    try:
        times: list[int] = []
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            grant = await alone.take()
            assert not grant.shared
            if grant.wait > 0:
                await asyncio.sleep(min(grant.wait, max(0.0, deadline - time.monotonic())))
                continue
            assert grant.at_us is not None
            times.append(grant.at_us)
    finally:
        await redis.aclose()
    assert busiest_window(times) <= 20  # its share: 40/s between two
    assert len(times) >= 30


async def test_when_redis_goes_the_worker_that_had_fewer_does_not_take_the_others_excess(
    own_redis: int,
) -> None:
    """The split of the last second between workers is never exactly even: when Redis goes, the worker
    that had taken fewer than its share may not add its full share on top of what the other took."""
    redis = unretried_client(own_redis)
    number = number_id()
    busy, quiet = (SharedPacer(redis, number, 40, worker_id=f"w{i}") for i in range(2))
    granted: list[float] = []  # this process's monotonic clock, for both workers
    await quiet.take()  # both known to Redis: the rate is shared by two
    granted.append(time.monotonic())
    for _ in range(30):  # the busy worker takes 30 of the 40 places, the quiet one the rest
        assert (await busy.take()).wait == 0
        granted.append(time.monotonic())
    for _ in range(9):
        assert (await quiet.take()).wait == 0
        granted.append(time.monotonic())
    await shut_down(redis)
    try:
        deadline = time.monotonic() + 0.8  # within the window of the 40 sends above
        while time.monotonic() < deadline:
            for pacer in (busy, quiet):
                grant = await pacer.take()
                assert not grant.shared
                if grant.wait == 0:
                    granted.append(time.monotonic())
            await asyncio.sleep(0.01)
    finally:
        await redis.aclose()
    assert busiest_window([int(t * 1_000_000) for t in granted]) <= 40


async def test_a_running_wagate_paces_through_redis_when_configured(
    client: aioredis.Redis, tmp_path: Path, clock: SettableClock
) -> None:
    prefix = f"wagate_test_{secrets.token_hex(4)}"
    settings = make_settings(tmp_path / "home", redis_url=REDIS_URL, redis_prefix=prefix)
    try:
        async with serving(settings, clock) as wagate:
            response = await wagate.send(
                {
                    "messaging_product": "whatsapp",
                    "to": "+79161234567",
                    "type": "template",
                    "template": {"name": "hello_world", "language": {"code": "en_US"}},
                }
            )
            assert response.status_code == 200, response.text
            wamid = response.json()["messages"][0]["id"]

            async def sent() -> bool:
                return (await wagate.message(wamid))["status"] in ("sent", "delivered", "read")

            await eventually(sent)
            log = f"{{{prefix}:pace:{wagate.phone_number_id}}}:log"
            assert await client.zcard(log) == 1
    finally:
        keys = [key async for key in client.scan_iter(match=f"{{{prefix}:*")]
        if keys:
            await client.delete(*keys)
