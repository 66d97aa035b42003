"""The pacer never lets more than `rate` sends into any sliding second, and wastes little of it."""

from __future__ import annotations

import random
from collections import deque

import pytest

from wagate.domain.pacing import SlidingWindowPacer, count_in_window


def simulate(rate: int, duration: float, jitter: float, seed: int) -> list[float]:
    """Drive the pacer as the dispatcher does, with a backlog, and return the send times."""
    rng = random.Random(seed)
    pacer = SlidingWindowPacer(rate)
    now, sends = 0.0, []
    while now < duration:
        delay = pacer.delay(now)
        now += delay + rng.random() * jitter  # wake-ups are late by up to `jitter`
        pacer.record(now)
        sends.append(now)
    return sends


def max_in_any_window(times: list[float], window: float = 1.0) -> int:
    best, start = 0, 0
    for end in range(len(times)):
        while times[end] - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize("rate", [1, 5, 80, 1000])
def test_never_over_rate_in_any_sliding_second(rate: int) -> None:
    sends = simulate(rate, duration=5.0, jitter=0.002, seed=rate)
    assert max_in_any_window(sends) <= rate


@pytest.mark.parametrize("rate", [80, 1000])
def test_uses_at_least_97_percent_of_the_rate_with_a_backlog(rate: int) -> None:
    sends = simulate(rate, duration=30.0, jitter=0.0001, seed=1)
    in_30s = sum(1 for t in sends if t <= 30.0)
    assert in_30s >= 0.97 * rate * 30


def test_rate_change_takes_effect_at_once() -> None:
    pacer = SlidingWindowPacer(10)
    for i in range(10):
        pacer.record(i * 0.01)
    pacer.set_rate(5)
    assert pacer.delay(0.1) > 0.8
    pacer.set_rate(20)
    assert pacer.delay(0.1) == 0.0


def test_count_in_window_drops_old_times() -> None:
    times = deque([0.0, 0.5, 1.2, 1.9])
    assert count_in_window(times, now=2.0) == 2
    assert list(times) == [1.2, 1.9]


def test_a_send_let_go_but_not_started_holds_the_next_one() -> None:
    pacer = SlidingWindowPacer(1)
    slot = pacer.reserve(0.0)
    assert pacer.delay(5.0) > 0  # the previous send has not reached the upstream yet
    pacer.start(slot, 0.3)  # it did, late: the window counts from then
    assert pacer.delay(1.0) == pytest.approx(0.3)
    assert pacer.delay(1.3) == 0.0
