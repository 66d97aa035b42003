"""The webhook sender: the fan-out consumer turns new events into deliveries, and the sender attempts
due deliveries concurrently.

Each subscription has at most `max_concurrency` attempts in flight, and a claim only takes what a
subscription has room for, so a slow or dead endpoint holds its own deliveries back and nobody else's.
An attempt's outcome (delivered, retry later, dead) is written back in the next group commit. A claimed
delivery is leased for longer than an attempt can last; if the process dies, the lease ends and the
delivery is attempted again (at least once: the receiver may see the same event id twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref

import aiohttp
from prometheus_client import Counter

from wagate.net.addresses import UnsafeTarget, check_url, safe_session
from wagate.net.failures import describe
from wagate.services.metrics import Metrics
from wagate.services.runtime import Runtime
from wagate.services.webhooks import build_webhook, outcome_of
from wagate.store.event_consumers import Event
from wagate.store.webhooks import (
    FAN_OUT_BATCH,
    ClaimDeliveries,
    ClaimedDelivery,
    DeliveryOutcome,
    FanOut,
    ReleaseDeliveries,
)
from wagate.workers.consumer import EventConsumer

log = logging.getLogger(__name__)

# Business time may be moved by tests and by the offset clock: waking this often lets them see progress.
POLL_INTERVAL = 0.25
MAX_IN_FLIGHT = 512  # attempts
MAX_CLAIM = 5000  # deliveries taken in one claim
# A lease outlives the longest attempt by a wide margin, so only a dead process loses one.
LEASE_MARGIN = 30.0
# What is read of an endpoint's answer; anything longer closes the connection instead.
ANSWER_LIMIT = 64 * 1024


class WebhookMetrics:
    def __init__(self, metrics: Metrics) -> None:
        registry = metrics.registry
        self.delivered = Counter(
            "wagate_webhooks_delivered",
            "Webhook deliveries answered with a 2xx",
            ["format"],
            registry=registry,
        )
        self.failed = Counter(
            "wagate_webhook_attempts_failed",
            "Webhook attempts that failed (status, timeout, connection, refused target)",
            ["format"],
            registry=registry,
        )
        self.dead = Counter(
            "wagate_webhooks_dead",
            "Webhook deliveries given up after the maximum age",
            ["format"],
            registry=registry,
        )


_metrics: weakref.WeakKeyDictionary[Metrics, WebhookMetrics] = weakref.WeakKeyDictionary()


def webhook_metrics(metrics: Metrics) -> WebhookMetrics:
    """The webhook counters of a runtime's registry, registered once."""
    found = _metrics.get(metrics)
    if found is None:
        found = _metrics[metrics] = WebhookMetrics(metrics)
    return found


class WebhookFanOut(EventConsumer):
    """The first consumer of the event stream: each event becomes one delivery per subscription it
    matches, and the sender is woken for them."""

    name = "webhooks"
    batch = FAN_OUT_BATCH
    with_payload = False  # deliveries read the payload when they are sent

    def __init__(self, rt: Runtime, sender: WebhookSender | None = None) -> None:
        super().__init__(rt)
        self.sender = sender

    async def handle_batch(self, events: list[Event]) -> dict[int, BaseException]:
        report = await self.rt.db.write(FanOut(self.rt.clock.now(), events))
        if report.deliveries and self.sender is not None:
            self.sender.wakeup.set()
        return {}


class WebhookSender:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.metrics = webhook_metrics(rt.metrics)
        self.wakeup = asyncio.Event()
        self.in_flight: dict[int, dict[int, asyncio.Task[None]]] = {}  # subscription → delivery → attempt
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def begin(self) -> None:
        settings = self.rt.settings
        self._session = safe_session(
            allow_private=settings.allow_private_targets,
            timeout=settings.webhook_timeout,
            limit=MAX_IN_FLIGHT,
        )
        self._task = asyncio.create_task(self._run(), name="webhook-sender")

    def _attempts(self) -> int:
        return sum(len(set(attempts.values())) for attempts in self.in_flight.values())

    async def _run(self) -> None:
        while not self._stopping:
            # Cleared before the step, so an attempt that ends during the step wakes the next one.
            self.wakeup.clear()
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook sender: step failed; trying again shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), POLL_INTERVAL)

    async def step(self) -> None:
        """Start attempts for what subscriptions have room for."""
        rt = self.rt
        if self._attempts() >= MAX_IN_FLIGHT:
            return
        now = rt.clock.now()
        lease_until = now + rt.settings.webhook_timeout + LEASE_MARGIN
        busy = {sub: list(attempts) for sub, attempts in self.in_flight.items() if attempts}
        running = {sub: len(set(attempts.values())) for sub, attempts in self.in_flight.items()}
        claimed = await rt.db.write(ClaimDeliveries(now, lease_until, MAX_CLAIM, busy, running))
        by_subscription: dict[int, list[ClaimedDelivery]] = {}
        for item in claimed:
            by_subscription.setdefault(item.subscription_id, []).append(item)
        for subscription_id, items in by_subscription.items():
            size = items[0].batch_size if items[0].format == "meta" else 1
            for start in range(0, len(items), size):
                batch = items[start : start + size]
                task = asyncio.create_task(self._deliver(batch), name=f"webhook-{batch[0].delivery_id}")
                for item in batch:
                    self.in_flight.setdefault(subscription_id, {})[item.delivery_id] = task

    async def _deliver(self, batch: list[ClaimedDelivery]) -> None:
        try:
            outcomes = await self._attempt(batch)
            await asyncio.gather(*(self.rt.db.write(outcome) for outcome in outcomes))
        except asyncio.CancelledError:
            raise
        except Exception:
            # Not recorded: the lease will end and the deliveries will be attempted again.
            log.exception("webhook sender: could not record the outcome of delivery %s", batch[0].delivery_id)
        finally:
            attempts = self.in_flight.get(batch[0].subscription_id, {})
            for item in batch:
                attempts.pop(item.delivery_id, None)
            if not attempts:
                self.in_flight.pop(batch[0].subscription_id, None)
            self.wakeup.set()  # the subscription has room again

    async def _attempt(self, batch: list[ClaimedDelivery]) -> list[DeliveryOutcome]:
        """One POST for the batch; every delivery in it gets the same outcome."""
        item = batch[0]
        rt = self.rt
        assert self._session is not None
        status: int | None = None
        error: str | None = None
        try:
            # The resolver checks names when connecting; a literal address is only checked here.
            check_url(item.url, allow_private=rt.settings.allow_private_targets)
            outgoing = build_webhook(batch, rt.clock.now())
            async with self._session.post(
                item.url, data=outgoing.body, headers=outgoing.headers, allow_redirects=False
            ) as response:
                status = response.status
                # Reading the (small) answer lets the connection be kept alive for the next attempt.
                await response.content.read(ANSWER_LIMIT)
        except UnsafeTarget as exc:
            error = f"unsafe target: {exc}"
        except TimeoutError:
            error = f"timed out after {rt.settings.webhook_timeout:g} s"
        except aiohttp.ClientError as exc:
            error = describe(exc)
        except Exception as exc:
            log.warning("webhook delivery %s failed unexpectedly: %r", item.delivery_id, exc)
            error = repr(exc)
        now = rt.clock.now()
        outcomes = [outcome_of(one, now, rt.settings, status_code=status, error=error) for one in batch]
        for one, outcome in zip(batch, outcomes, strict=True):
            self._count(one, outcome)
        return outcomes

    def _count(self, item: ClaimedDelivery, outcome: DeliveryOutcome) -> None:
        if outcome.state == "delivered":
            self.metrics.delivered.labels(item.format).inc()
            return
        self.metrics.failed.labels(item.format).inc()
        if outcome.state == "dead":
            self.metrics.dead.labels(item.format).inc()
            log.warning(
                "webhook delivery %s of %s to subscription %s is dead after %d attempts: %s",
                item.delivery_id,
                item.event_id,
                item.subscription_id,
                item.attempts,
                outcome.error,
            )

    async def shutdown(self) -> None:
        """Stop claiming; let attempts finish within the timeout; give back the ones that did not."""
        self._stopping = True
        self.wakeup.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        attempts = {delivery: task for by_sub in self.in_flight.values() for delivery, task in by_sub.items()}
        if attempts:
            _, pending = await asyncio.wait(attempts.values(), timeout=self.rt.settings.webhook_timeout + 1.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
                abandoned = [delivery for delivery, task in attempts.items() if task in pending]
                with contextlib.suppress(Exception):
                    await self.rt.db.write(ReleaseDeliveries(abandoned))
        if self._session is not None:
            await self._session.close()
            self._session = None
