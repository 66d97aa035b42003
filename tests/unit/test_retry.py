"""Retry policy: exponential backoff with full jitter, Retry-After honoured, 4^X for the pair limit."""

from __future__ import annotations

from wagate.domain.retry import PAIR_RATE_LIMIT, RetryPolicy


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(base=1.0, cap=60.0)
    assert [policy.delay(n, rnd=1.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert policy.delay(20, rnd=1.0) == 60.0
    assert policy.delay(3, rnd=0.0) == 0.0


def test_retry_after_is_a_floor() -> None:
    policy = RetryPolicy(base=1.0, cap=60.0)
    assert policy.delay(1, retry_after=30.0, rnd=0.5) == 30.0
    assert policy.delay(10, retry_after=1.0, rnd=1.0) == 60.0


def test_pair_rate_limit_waits_four_to_the_x() -> None:
    policy = RetryPolicy(base=1.0, cap=900.0)
    assert [policy.delay(n, code=PAIR_RATE_LIMIT, rnd=1.0) for n in (1, 2, 3, 4)] == [1.0, 4.0, 16.0, 64.0]
    assert policy.delay(3, code=PAIR_RATE_LIMIT, rnd=0.0) == 8.0
