"""One interface for pacing a number's sends, whether this process paces the number alone or shares its
rate with other worker processes through Redis.

A lane lets its sends go one at a time, most urgent first:

1. `await pacer.ready()` before the send takes one of the lane's send slots;
2. `permit = pacer.admit()` once it holds the slot: its task starts;
3. in the send's own task, `await pacer.place(permit, stopping)` just before the upstream call;
4. `pacer.started(permit)` at the moment of the upstream call.

The lane starts the next send only once `permit.is_placed` (or `await permit.wait_placed()`), so that
the buffer keeps its order while a send waits for its place.

The two pacers place a send at different steps, for reasons given in decisions 0005 and 0007. Alone
(`LocalPacer`), the place is reserved before the task starts (no task switch between the pacer's
decision and the send) and the clock starts right before the upstream call, so the log holds the moment
the upstream saw. Shared (`SharedPacer`), the place is taken in the send's task just before the call:
what Redis counted is when the send left; only one send of a lane waits for its place at a time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from wagate.domain.pacing import SlidingWindowPacer, Slot

# Widening the pacer's window a little absorbs the jitter between our clock and the upstream's.
LOCAL_WINDOW = 1.002


class Permit:
    """One send's place in its number's rate, from the moment the lane lets it go."""

    __slots__ = ("_placed", "slot")

    def __init__(self, slot: Slot | None, *, placed: bool) -> None:
        self.slot = slot
        self._placed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if placed:
            self._placed.set_result(None)

    @property
    def is_placed(self) -> bool:
        return self._placed.done()

    def mark_placed(self) -> None:
        """The send has its place (or will not need one): the lane may let the next one go."""
        if not self._placed.done():
            self._placed.set_result(None)

    async def wait_placed(self) -> None:
        await asyncio.wait({self._placed})


class Pacer(Protocol):
    """At most a number's rate in any sliding window, over every send of the number."""

    @property
    def rate(self) -> int: ...

    def set_rate(self, rate: int) -> None:
        """The next sends keep to the new rate."""
        ...

    async def ready(self) -> None:
        """Wait until the next send may be let go; called before it takes a send slot."""
        ...

    def admit(self) -> Permit:
        """Let the next send go: its task starts now."""
        ...

    async def place(self, permit: Permit, stopping: Callable[[], bool]) -> bool:
        """In the send's task, just before the upstream call: wait for its place in the rate. False
        when the lane stops first (the send goes back to the queue). Marks the permit placed."""
        ...

    def started(self, permit: Permit) -> None:
        """The send reaches the upstream now."""
        ...


class LocalPacer:
    """This process paces the number alone: a sliding-window log in memory."""

    def __init__(self, rate: int, *, window: float = LOCAL_WINDOW) -> None:
        self.log = SlidingWindowPacer(rate, window=window)

    @property
    def rate(self) -> int:
        return self.log.rate

    def set_rate(self, rate: int) -> None:
        self.log.set_rate(rate)

    async def ready(self) -> None:
        delay = self.log.delay(time.monotonic())
        if delay > 0:
            await asyncio.sleep(delay)

    def admit(self) -> Permit:
        # Reserved before the task starts: no other task runs between the decision and the send.
        return Permit(self.log.reserve(time.monotonic()), placed=True)

    async def place(self, permit: Permit, stopping: Callable[[], bool]) -> bool:
        return True

    def started(self, permit: Permit) -> None:
        assert permit.slot is not None
        self.log.start(permit.slot, time.monotonic())
