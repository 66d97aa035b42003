"""Pacing: at most `rate` sends in every sliding window of one second.

A log of the last `rate` send times: a send may start when the oldest of them is at least `window`
seconds old. Unlike a token bucket, this never allows a burst above the rate in any window, which is
what Meta (and the simulator) measure.

A send is reserved when the pacer lets it go and started when it really reaches the upstream, a moment
later under load; the log keeps the later time, so what the upstream sees is what the pacer counted.
"""

from __future__ import annotations

from collections import deque

# How long to look again when the oldest send in the log has been let go but not started yet.
_RECHECK = 0.001


class Slot:
    __slots__ = ("at", "started")

    def __init__(self, at: float) -> None:
        self.at = at
        self.started = False


class SlidingWindowPacer:
    def __init__(self, rate: int, window: float = 1.0) -> None:
        self.window = window
        self._sends: deque[Slot] = deque()
        self.rate = max(1, rate)

    def set_rate(self, rate: int) -> None:
        self.rate = max(1, rate)
        while len(self._sends) > self.rate:
            self._sends.popleft()

    def delay(self, now: float) -> float:
        """Seconds to wait before the next send may start at `now` (0 if it may start now)."""
        if len(self._sends) < self.rate:
            return 0.0
        oldest = self._sends[0]
        if not oldest.started:
            return _RECHECK
        return max(0.0, oldest.at + self.window - now)

    def reserve(self, now: float) -> Slot:
        slot = Slot(now)
        self._sends.append(slot)
        if len(self._sends) > self.rate:
            self._sends.popleft()
        return slot

    @staticmethod
    def start(slot: Slot, now: float) -> None:
        slot.at = max(slot.at, now)
        slot.started = True

    def record(self, now: float) -> None:
        """Reserve and start at once."""
        self.start(self.reserve(now), now)


def count_in_window(times: deque[float], now: float, window: float = 1.0) -> int:
    """Drop times older than `window` from the left of `times` and return how many remain."""
    limit = now - window
    while times and times[0] <= limit:
        times.popleft()
    return len(times)
