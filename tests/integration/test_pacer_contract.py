"""One contract for both pacers behind `workers/pacing.Pacer`: the local one, and the one shared through
Redis (the local Redis, under a random key prefix of its own, deleted after; skipped with the reason
when Redis is down).

Each test drives the pacer as a lane does (ready, admit, place, started) and notes when each send would
reach the upstream. Every test is bounded: a few windows of a second at most.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol

import pytest
import redis.asyncio as aioredis

from tests.databases import redis_unreachable, redis_url
from wagate.workers.pacing import LocalPacer, Pacer
from wagate.workers.shared_pacing import SHARED_WINDOW, SharedPacer

WINDOW = 1.0


class MakePacer(Protocol):
    def __call__(self, rate: int) -> Pacer: ...


@pytest.fixture(params=["local", "shared"])
async def make_pacer(request: pytest.FixtureRequest) -> AsyncIterator[MakePacer]:
    if request.param == "local":
        yield lambda rate: LocalPacer(rate)
        return
    reason = redis_unreachable()
    if reason is not None:
        pytest.skip(f"{reason}: the shared pacer needs Redis")
    client = aioredis.Redis.from_url(redis_url(), socket_connect_timeout=0.5, socket_timeout=1.0)
    prefix = f"pacer-contract-{secrets.token_hex(6)}"
    made: list[SharedPacer] = []

    def shared(rate: int) -> Pacer:
        pacer = SharedPacer(client, secrets.randbelow(10**9), rate, window=SHARED_WINDOW, prefix=prefix)
        made.append(pacer)
        return pacer

    try:
        yield shared
    finally:
        for pacer in made:
            await client.delete(*pacer.keys)
        await client.aclose()


async def send(pacer: Pacer, stopping: Callable[[], bool] = lambda: False) -> float | None:
    """One send as a lane makes it; when it reaches the upstream (None: the lane stopped first)."""
    await pacer.ready()
    permit = pacer.admit()
    if not await pacer.place(permit, stopping):
        return None
    pacer.started(permit)
    return time.monotonic()


async def sends(pacer: Pacer, count: int) -> list[float]:
    times = []
    for _ in range(count):
        at = await send(pacer)
        assert at is not None
        times.append(at)
    return times


def busiest_window(times: list[float], window: float = WINDOW) -> int:
    ordered = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_never_more_than_the_rate_in_any_sliding_window(make_pacer: MakePacer) -> None:
    pacer = make_pacer(40)
    times = await sends(pacer, 100)
    assert busiest_window(times) <= 40
    # Paced, not stalled: 100 sends at 40/s span two windows and a little.
    assert 2 * WINDOW <= times[-1] - times[0] < 3 * WINDOW + 0.5


async def test_the_rate_goes_at_once_from_rest(make_pacer: MakePacer) -> None:
    pacer = make_pacer(30)
    times = await sends(pacer, 30)
    assert times[-1] - times[0] < 0.5
    assert pacer.rate == 30


async def test_a_lower_rate_paces_the_next_sends(make_pacer: MakePacer) -> None:
    pacer = make_pacer(40)
    before = await sends(pacer, 40)
    pacer.set_rate(10)
    assert pacer.rate == 10
    after = await sends(pacer, 15)
    # The 40 sends of the window still count: the next go only as they age, 10 a window.
    assert after[0] - before[0] >= WINDOW - 0.05
    assert busiest_window(after) <= 10


async def test_a_higher_rate_lets_more_go_at_once(make_pacer: MakePacer) -> None:
    pacer = make_pacer(5)
    first = await sends(pacer, 5)
    pacer.set_rate(50)
    more = await sends(pacer, 45)
    assert more[-1] - first[0] < 0.5
    assert busiest_window(first + more) <= 50


async def test_every_place_leaves_the_permit_placed(make_pacer: MakePacer) -> None:
    """The lane lets the next send go once the permit is placed, even when this one will not go."""
    pacer = make_pacer(3)
    await sends(pacer, 3)
    await pacer.ready()
    permit = pacer.admit()
    went = await pacer.place(permit, lambda: True)
    assert permit.is_placed
    if went:  # a pacer that places at admission has the place already
        pacer.started(permit)


async def test_a_stopping_lane_is_not_held_by_a_full_window(make_pacer: MakePacer) -> None:
    pacer = make_pacer(5)
    await sends(pacer, 5)
    deadline = time.monotonic() + 0.2
    began = time.monotonic()
    # Stopping 0.2 s into the wait: the send either goes (a pacer that places at admission waits
    # before it) or gives up, within about a window.
    await send(pacer, lambda: time.monotonic() >= deadline)
    assert time.monotonic() - began < WINDOW + 0.3
