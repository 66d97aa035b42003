"""A base for consumers of the event stream: subclass, name it, and write `handle`.

The base owns the loop: it claims the consumer (one worker at a time, `store/event_consumers.py`),
reads the events after its cursor in order, hands each to `handle`, and moves the cursor past them.
An event whose `handle` raises is recorded and tried again with backoff (`domain/retry.RetryPolicy`)
while the consumer goes on with the next ones; after `max_attempts` it is given up and logged. Every
consumer has its own cursor, so a slow or failing one never holds another back. Its lag and retries
are exported in `/metrics`.

Handling is at least once: a worker that dies after `handle` and before the cursor moved leaves those
events to be handled again by whoever takes the consumer next, so `handle` must be idempotent (an
`Idempotency-Key` made of the event id, say, for a consumer that sends).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time

from wagate.domain.event_stream import readable
from wagate.domain.retry import RetryPolicy
from wagate.services.runtime import Runtime
from wagate.store.event_consumers import Claim, ClaimEvents, Event, Failure, FinishEvents, ReleaseConsumer

log = logging.getLogger(__name__)

# A worker renews its hold on each step; one that died lets another take the consumer after this.
LEASE_SECONDS = 5.0


class EventConsumer:
    """Follows the event stream with a cursor of its own. Subclasses set `name` and write `handle`."""

    name = "consumer"
    batch = 500  # events read in one step
    poll_interval = 0.25
    max_attempts = 10
    with_payload = True  # read (and open) each event's payload
    payload_types: frozenset[str] | None = None  # only these types' payloads, when set (cheaper)
    start_at_end = False  # a new consumer: from the first event there is, or only what comes next
    retry = RetryPolicy(base=1.0, cap=300.0)

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.owner = secrets.token_hex(8)
        self.wakeup = asyncio.Event()
        self._gaps: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def handle(self, event: Event) -> None:
        """Do what this consumer does with one event; raise to have it tried again later."""
        raise NotImplementedError

    async def handle_batch(self, events: list[Event]) -> dict[int, BaseException]:
        """Handle events in order; returns the failures by event id. A consumer that can do a whole
        batch at once (in one transaction, say) overrides this instead of `handle`."""
        failures: dict[int, BaseException] = {}
        for event in events:
            try:
                await self.handle(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures[event.id] = exc
        return failures

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"consumer-{self.name}")

    async def stop(self) -> None:
        self._stopping = True
        self.wakeup.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.rt.db.write(ReleaseConsumer(self.name, self.owner))

    async def _run(self) -> None:
        while not self._stopping:
            self.wakeup.clear()
            more = False
            try:
                more = await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("consumer %s: step failed; trying again shortly", self.name)
            if not more:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wakeup.wait(), self.poll_interval)

    async def step(self) -> bool:
        """Claim, handle and record one batch; True when more events are waiting."""
        rt = self.rt
        now = rt.clock.now()
        claim: Claim | None = await rt.db.write(
            ClaimEvents(
                self.name,
                self.owner,
                now,
                now + LEASE_SECONDS,
                self.batch,
                self.with_payload,
                self.start_at_end,
                self.payload_types,
            )
        )
        if claim is None:
            return False  # another worker holds it
        count = readable(
            claim.position,
            [e.id for e in claim.new],
            final=claim.final,
            gaps=self._gaps,
            now=time.monotonic(),
        )
        new = claim.new[:count]
        position = new[-1].id if new else claim.position
        rt.metrics.consumer_lag.labels(self.name).set(max(0, claim.newest - position))
        if not new and not claim.retries:
            rt.metrics.consumer_retries.labels(self.name).set(claim.waiting_retries)
            return False
        failed = await self.handle_batch(claim.retries + new)
        retried = {e.id for e in claim.retries}
        failures = [self._failure(e, failed[e.id]) for e in claim.retries + new if e.id in failed]
        succeeded = [i for i in retried if i not in failed]
        await rt.db.write(FinishEvents(self.name, self.owner, rt.clock.now(), position, succeeded, failures))
        waiting = claim.waiting_retries - len(succeeded) + sum(1 for e in new if e.id in failed)
        rt.metrics.consumer_retries.labels(self.name).set(max(0, waiting))
        return len(claim.new) >= self.batch and count == len(claim.new)

    def backoff(self, attempts: int) -> float:
        """Seconds before an event that failed `attempts` times is tried again."""
        return self.retry.delay(attempts)

    def _failure(self, event: Event, exc: BaseException) -> Failure:
        attempts = event.attempts + 1
        self.rt.metrics.consumer_failures.labels(self.name).inc()
        if attempts >= self.max_attempts:
            log.error(
                "consumer %s: gave up on event %s after %d attempts: %r",
                self.name,
                event.event_id,
                attempts,
                exc,
            )
            return Failure(event.id, attempts, None, repr(exc))
        delay = self.backoff(attempts)
        log.warning(
            "consumer %s: event %s failed (attempt %d), again in %.1f s: %r",
            self.name,
            event.event_id,
            attempts,
            delay,
            exc,
        )
        return Failure(event.id, attempts, self.rt.clock.now() + delay, repr(exc))
