"""The rules of the simulated WhatsApp network, enforced independently of wagate's own checks.

Who is a WhatsApp user: every valid mobile number, except the test range of numbers whose last four
digits are 0000 (a send to one is accepted, then fails with 131026, as on Meta). Throughput: a number
may send at most its rate in any sliding second (else 130429). Pair rate: one message every 6 seconds
to the same user, with bursts of up to 45 borrowed (else 131056). Faults can be injected on purpose.
Meta's messaging policy (windows, templates, limits) is kept in `policy.py`; every refusal, of any rule,
is counted here.
"""

from __future__ import annotations

import random
import time
from collections import deque
from dataclasses import dataclass, field

from wagate.domain.pacing import count_in_window
from wagate.domain.phone import is_mobile

NOT_A_USER_SUFFIX = "0000"
PAIR_INTERVAL = 6.0
PAIR_BURST = 45
# Every rule the network enforces, as counted in `NetworkRules.refusals`.
RULES = (
    "window",
    "template",
    "tier",
    "marketing_limit",
    "us_marketing",
    "opted_out",
    "pair_rate",
    "throughput",
)


@dataclass(slots=True)
class Faults:
    """Probabilities (0..1) of injected faults per send or per receipt."""

    server_error: float = 0.0  # the send fails with a 5xx-class error (131000), nothing accepted
    timeout: float = 0.0  # the send is accepted, but the caller never hears so (outcome unknown)
    lost: float = 0.0  # the send never arrives and the caller hears nothing (outcome unknown)
    throttle: float = 0.0  # the send is refused with 130429 whatever the rate
    duplicate_receipts: float = 0.0  # a receipt is delivered twice
    reorder_receipts: float = 0.0  # a message's receipts arrive in a shuffled order

    def update(self, values: dict[str, float]) -> None:
        for name, value in values.items():
            if name not in self.__dataclass_fields__:
                raise ValueError(f"unknown fault {name!r}")
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"fault {name!r} must be a probability between 0 and 1")
            setattr(self, name, float(value))


@dataclass(slots=True)
class _PairBucket:
    tokens: float
    at: float


@dataclass(slots=True)
class NetworkRules:
    faults: Faults = field(default_factory=Faults)
    rng: random.Random = field(default_factory=random.Random)
    _sends: dict[int, deque[float]] = field(default_factory=dict)
    _pairs: dict[tuple[int, str], _PairBucket] = field(default_factory=dict)
    # Sends refused (or accepted, then failed) by rule; injected faults are not refusals.
    refusals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RULES, 0))
    # The most sends each number attempted in any sliding second, refused ones included: what a
    # business's pacing let through, as the network saw it.
    peak_per_second: dict[int, int] = field(default_factory=dict)
    peak_at: dict[int, float] = field(default_factory=dict)  # when (Unix time) each peak was reached
    _attempts: dict[int, deque[float]] = field(default_factory=dict)

    def refuse(self, rule: str) -> None:
        self.refusals[rule] = self.refusals.get(rule, 0) + 1

    @property
    def refused_throughput(self) -> int:
        return self.refusals["throughput"]

    @property
    def refused_pair_rate(self) -> int:
        return self.refusals["pair_rate"]

    @staticmethod
    def is_user(wa_id: str) -> bool:
        return is_mobile(wa_id) and not wa_id.endswith(NOT_A_USER_SUFFIX)

    def take_throughput(self, number_id: int, rate: int, now: float) -> bool:
        """Count a send against the number's sliding second; False if that would exceed `rate`."""
        attempts = self._attempts.get(number_id)
        if attempts is None:
            attempts = self._attempts[number_id] = deque()
        attempts.append(now)
        seen = count_in_window(attempts, now)
        if seen > self.peak_per_second.get(number_id, 0):
            self.peak_per_second[number_id] = seen
            self.peak_at[number_id] = time.time()
        window = self._sends.get(number_id)
        if window is None:
            window = self._sends[number_id] = deque()
        if count_in_window(window, now) >= rate:
            self.refuse("throughput")
            return False
        window.append(now)
        return True

    def take_pair(self, number_id: int, wa_id: str, now: float) -> bool:
        key = (number_id, wa_id)
        bucket = self._pairs.get(key)
        if bucket is None:
            bucket = self._pairs[key] = _PairBucket(tokens=float(PAIR_BURST), at=now)
        bucket.tokens = min(float(PAIR_BURST), bucket.tokens + (now - bucket.at) / PAIR_INTERVAL)
        bucket.at = now
        if bucket.tokens < 1.0:
            self.refuse("pair_rate")
            return False
        bucket.tokens -= 1.0
        if len(self._pairs) > 200_000:
            self._forget_full_buckets(now)
        return True

    def _forget_full_buckets(self, now: float) -> None:
        full_after = PAIR_BURST * PAIR_INTERVAL
        self._pairs = {k: b for k, b in self._pairs.items() if now - b.at < full_after}

    def roll(self, probability: float) -> bool:
        return probability > 0.0 and self.rng.random() < probability
