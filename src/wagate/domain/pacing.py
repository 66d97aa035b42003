"""Pacing: at most `rate` sends in every sliding window of one second.

A log of the last `rate` send times: a send may start when the oldest of them is at least `window`
seconds old. Unlike a token bucket, this never allows a burst above the rate in any window, which is
what Meta (and the simulator) measure.
"""

from __future__ import annotations

from collections import deque


class SlidingWindowPacer:
    def __init__(self, rate: int, window: float = 1.0) -> None:
        self.window = window
        self._sends: deque[float] = deque()
        self.rate = max(1, rate)

    def set_rate(self, rate: int) -> None:
        self.rate = max(1, rate)
        while len(self._sends) > self.rate:
            self._sends.popleft()

    def delay(self, now: float) -> float:
        """Seconds to wait before the next send may start at `now` (0 if it may start now)."""
        if len(self._sends) < self.rate:
            return 0.0
        return max(0.0, self._sends[0] + self.window - now)

    def record(self, now: float) -> None:
        self._sends.append(now)
        if len(self._sends) > self.rate:
            self._sends.popleft()


def count_in_window(times: deque[float], now: float, window: float = 1.0) -> int:
    """Drop times older than `window` from the left of `times` and return how many remain."""
    limit = now - window
    while times and times[0] <= limit:
        times.popleft()
    return len(times)
