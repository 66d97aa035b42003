"""The only source of "now" for business time: windows, time-to-live, retry due times, key expiry.

Pacing uses the process's monotonic clock instead, because throughput is a physical rate.
Tests move business time with `SettableClock`, or across processes with `OffsetFileClock`, whose
offset is read from a file that a test rewrites (`WAGATE_CLOCK=offset-file:/path`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class SettableClock:
    """A clock that tests set or advance; it stands still unless told otherwise."""

    def __init__(self, start: float | None = None, *, ticking: bool = False) -> None:
        self._offset = 0.0 if start is None else start - time.time()
        self._frozen: float | None = None if ticking else (start if start is not None else time.time())

    def now(self) -> float:
        if self._frozen is not None:
            return self._frozen
        return time.time() + self._offset

    def set(self, when: float) -> None:
        if self._frozen is not None:
            self._frozen = when
        else:
            self._offset = when - time.time()

    def advance(self, seconds: float) -> None:
        self.set(self.now() + seconds)


class OffsetFileClock:
    """Wall time plus an offset in seconds read from a file, re-read at most every `recheck` seconds."""

    def __init__(self, path: Path, recheck: float = 0.1) -> None:
        self._path = path
        self._recheck = recheck
        self._offset = 0.0
        self._checked_at = float("-inf")

    def now(self) -> float:
        mono = time.monotonic()
        if mono - self._checked_at >= self._recheck:
            self._checked_at = mono
            try:
                self._offset = float(self._path.read_text().strip() or "0")
            except (OSError, ValueError):
                self._offset = 0.0
        return time.time() + self._offset


def clock_from_spec(spec: str) -> Clock:
    """`system` (the default) or `offset-file:PATH`."""
    if spec in ("", "system"):
        return SystemClock()
    if spec.startswith("offset-file:"):
        return OffsetFileClock(Path(spec.removeprefix("offset-file:")))
    raise ValueError(f"unknown clock {spec!r}: use 'system' or 'offset-file:PATH'")
