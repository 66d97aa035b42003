"""When to try a failed send again: exponential backoff with full jitter, Retry-After honoured."""

from __future__ import annotations

import random
from dataclasses import dataclass

PAIR_RATE_LIMIT = 131056


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base: float = 1.0
    cap: float = 900.0

    def delay(
        self,
        attempt: int,
        *,
        code: int | None = None,
        retry_after: float | None = None,
        rnd: float | None = None,
    ) -> float:
        """Delay before attempt number `attempt + 1` (attempt counts from 1)."""
        r = random.random() if rnd is None else rnd
        if code == PAIR_RATE_LIMIT:
            # Meta's advice for the pair rate limit: wait 4^X seconds, X counting failures from 0.
            ceiling = min(self.cap, 4.0 ** max(0, attempt - 1))
            backoff = ceiling * (0.5 + 0.5 * r)
        else:
            ceiling = min(self.cap, self.base * 2.0 ** max(0, attempt - 1))
            backoff = ceiling * r
        if retry_after is not None:
            return max(retry_after, backoff)
        return backoff
