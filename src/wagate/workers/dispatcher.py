"""The dispatcher: claims due messages per phone number and hands them to the upstream, paced.

One lane per business number. A lane claims a small batch (about a tenth of a second of its rate)
with a lease, most urgent class first, and starts each send when the pacer allows: never more than the
number's rate in any sliding second. Sends run concurrently; each outcome (sent, retry, in doubt,
failed) is written back in the next group commit. Rows whose lease ends while their send is in flight
are in doubt and wait the reconciliation window for a status before being sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

import msgspec

from wagate.domain.policy import SendFacts, Stage, decide_send
from wagate.domain.retry import RetryPolicy
from wagate.domain.tenancy import PhoneNumber
from wagate.errors import GraphError
from wagate.media.translate import MediaTranslator
from wagate.services import simulator_sync
from wagate.services.quality import do_update_quality
from wagate.services.runtime import Runtime, Waker
from wagate.store import tenancy as tenancy_sql
from wagate.store.ingest import ApplyParked
from wagate.store.messages import ClaimDue, Claimed, OutcomeKind, RecoverInDoubt, ReleaseClaims, SendOutcome
from wagate.store.policy import PrunePolicyCounts
from wagate.store.upkeep import PruneIdempotencyKeys
from wagate.upstreams.base import NumberRef, Upstream, UpstreamError
from wagate.workers.base import PeriodicWorker
from wagate.workers.pacing import LocalPacer, Pacer, Permit
from wagate.workers.shared_pacing import SHARED_WINDOW, SharedPacer

log = logging.getLogger(__name__)

_decoder = msgspec.json.Decoder(dict[str, Any])
_encoder = msgspec.json.Encoder()

REDACTED = "••••••"


def build_payload(item: Claimed) -> dict[str, Any]:
    """Meta's send body for a claimed message, with ids translated to the upstream's."""
    content = _decoder.decode(item.content)
    if item.type == "reaction" and item.context_upstream_id is not None:
        content = {**content, "message_id": item.context_upstream_id}
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": item.wa_id,
        "type": item.type,
        item.type: content["contacts"] if item.type == "contacts" else content,
        # The upstream echoes this in every status: it lets a status find its message even when the
        # send's answer was lost (a crash, a timeout).
        "biz_opaque_callback_data": item.wamid,
    }
    if item.type != "reaction" and item.context_upstream_id is not None:
        payload["context"] = {"message_id": item.context_upstream_id}
    return payload


def redact_codes(content: str) -> str:
    """A one-time-code template with every parameter value replaced, for storage after sending."""
    template = _decoder.decode(content)
    for component in template.get("components") or ():
        for parameter in component.get("parameters") or ():
            if isinstance(parameter, dict) and "text" in parameter:
                parameter["text"] = REDACTED
    return _encoder.encode(template).decode()


def _policy_refusal(item: Claimed, now: float) -> GraphError | None:
    """What time changed while the message waited (its window closed, its template was paused,
    disabled or deleted, the customer opted out), as the policy decides it at dispatch."""
    # A template's message is told by its category (never None for one; "" would still be a template).
    category = (item.category or "") if item.type == "template" else None
    facts = SendFacts(
        item.wa_id,
        category,
        item.last_inbound_at,
        consent="opt_out" if item.marketing_opted_out else None,
        template=item.template,
    )
    verdict = decide_send(facts, None, now, Stage.DISPATCH)
    return verdict if isinstance(verdict, GraphError) else None


def pacer_for(rt: Runtime, number: PhoneNumber) -> Pacer:
    """The number's pacer: shared through Redis by every worker process when there is one, else local."""
    if rt.redis is None:
        return LocalPacer(number.rate)
    return SharedPacer(
        rt.redis, number.id, number.rate, window=SHARED_WINDOW, prefix=rt.settings.redis_prefix
    )


class Lane:
    def __init__(self, rt: Runtime, number: PhoneNumber, upstream: Upstream) -> None:
        self.rt = rt
        self.number = number
        self.upstream = upstream
        self.pacer = pacer_for(rt, number)
        self.buffer: deque[Claimed] = deque()
        self.in_flight: set[asyncio.Task[None]] = set()
        self.slots = asyncio.Semaphore(rt.settings.max_in_flight)
        self.wakeup = asyncio.Event()
        self.stopping = False
        self.retry = RetryPolicy(rt.settings.retry_base, rt.settings.retry_max)
        self.media = MediaTranslator(rt, upstream)
        self._task: asyncio.Task[None] | None = None
        self._claim: asyncio.Task[list[Claimed]] | None = None
        self._drained = False

    @property
    def ref(self) -> NumberRef:
        return self.number.ref

    def update(self, number: PhoneNumber, upstream: Upstream | None = None) -> None:
        """Follow a change of the number: its rate paces the next sends, its upstream takes them."""
        if upstream is not None and upstream is not self.upstream:
            self.upstream = upstream
            self.media = MediaTranslator(self.rt, upstream)
        if number.rate != self.number.rate:
            self.pacer.set_rate(number.rate)
        self.number = number

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"lane-{self.number.id}")

    def _batch_size(self) -> int:
        return max(1, min(200, self.number.rate // 10))

    def _start_claim(self) -> None:
        now = self.rt.clock.now()
        self._claim = asyncio.create_task(
            self.rt.db.write(
                ClaimDue(self.number.id, now, now + self.rt.settings.lease_seconds, self._batch_size())
            )
        )

    async def _run(self) -> None:
        while not self.stopping:
            try:
                await self._step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("lane %s: step failed; pausing 1 s", self.number.id)
                await asyncio.sleep(1.0)

    async def _step(self) -> None:
        if len(self.buffer) <= self._batch_size() // 2 and self._claim is None and not self._drained:
            self._start_claim()
        if not self.buffer:
            if self._claim is not None:
                # Waited for, not awaited: a stop cancels the wait, not the claim, so that rows the
                # writer committed still reach the buffer (and are given back).
                await asyncio.wait({self._claim})
                self._take_claim()
            if not self.buffer:
                self.wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wakeup.wait(), 0.5)
                self._drained = False
                return
        elif self._claim is not None and self._claim.done():
            self._take_claim()
        # The item stays in the buffer until its send starts, so a stop in between gives it back.
        item = self.buffer[0]
        now = self.rt.clock.now()
        if now >= item.expires_at:
            self.buffer.popleft()
            await self._write(self._expired(item, now))
            return
        refusal = _policy_refusal(item, now)
        if refusal is not None:
            self.buffer.popleft()
            self.rt.metrics.failed.labels(str(refusal.code)).inc()
            self.rt.metrics.policy_refusals.labels(str(refusal.code), "dispatch").inc()
            await self._write(
                SendOutcome(
                    OutcomeKind.FAILED,
                    item.message_id,
                    now,
                    error_code=refusal.code,
                    error_title=refusal.title,
                    error_details=refusal.details,
                )
            )
            return
        if item.context_pending:
            # It replies or reacts to a message still on its way: wait until that one has an upstream id.
            self.buffer.popleft()
            await self._write(SendOutcome(OutcomeKind.RETRY, item.message_id, now, due_at=now + 1.0))
            return
        await self.pacer.ready()
        await self.slots.acquire()
        permit = self.pacer.admit()
        self.buffer.popleft()
        task = asyncio.create_task(self._send(item, permit))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)
        if not permit.is_placed:
            # One send waits for its place at a time; the rest wait in the buffer, most urgent first,
            # so that a reply claimed meanwhile still goes before the campaign.
            await permit.wait_placed()

    def _take_claim(self) -> None:
        """Move a finished claim's rows into the buffer. A claim that failed (the database went away)
        is dropped, so that the next step claims afresh, and its error is raised."""
        claim = self._claim
        assert claim is not None and claim.done()
        self._claim = None
        claimed = claim.result()
        self.buffer.extend(claimed)
        self._drained = not claimed

    def _expired(self, item: Claimed, now: float) -> SendOutcome:
        ttl = int(item.expires_at - item.created_at)
        details = f"Message was not sent within its time-to-live of {ttl} seconds."
        if item.last_error_code is not None:
            # The error that kept it from being sent is the one the business needs to see.
            self.rt.metrics.failed.labels(str(item.last_error_code)).inc()
            return SendOutcome(
                OutcomeKind.FAILED,
                item.message_id,
                now,
                error_code=item.last_error_code,
                error_title=item.last_error_title,
                error_details=details,
            )
        self.rt.metrics.failed.labels("131026").inc()
        return SendOutcome(
            OutcomeKind.FAILED,
            item.message_id,
            now,
            error_code=131026,
            error_title="Message undeliverable",
            error_details=details,
        )

    async def _send(self, item: Claimed, permit: Permit) -> None:
        try:
            outcome = await self._attempt(item, permit)
            if outcome is None:  # stopped before its turn: it goes back to the queue
                await self.rt.db.write(ReleaseClaims([item.message_id]))
                return
            await self._record(item, outcome)
        except Exception:
            # The outcome could not be recorded: the lease will end and the row will be reconciled.
            log.exception("lane %s: could not record the outcome of %s", self.number.id, item.wamid)
        finally:
            self.slots.release()
            permit.mark_placed()

    async def _attempt(self, item: Claimed, permit: Permit) -> SendOutcome | None:
        rt = self.rt
        try:
            payload = await self.media.translate(self.ref, build_payload(item))
            if not await self.pacer.place(permit, lambda: self.stopping):
                return None
            # No task between the pacer's clock and the upstream's: asyncio.timeout runs the send inline.
            async with asyncio.timeout(rt.settings.send_timeout):
                self.pacer.started(permit)
                upstream_id = await self.upstream.send(self.ref, payload)
        except TimeoutError:
            return self._in_doubt(item, UpstreamError(131000, "upstream timed out", outcome_unknown=True))
        except UpstreamError as exc:
            if exc.outcome_unknown:
                return self._in_doubt(item, exc)
            now = rt.clock.now()
            if exc.retryable:
                due = now + self.retry.delay(item.attempts, code=exc.code, retry_after=exc.retry_after)
                if due < item.expires_at:
                    rt.metrics.retried.labels(str(exc.code)).inc()
                    return SendOutcome(
                        OutcomeKind.RETRY,
                        item.message_id,
                        now,
                        due_at=due,
                        error_code=exc.code,
                        error_title=exc.title,
                    )
            rt.metrics.failed.labels(str(exc.code)).inc()
            return SendOutcome(
                OutcomeKind.FAILED,
                item.message_id,
                now,
                error_code=exc.code,
                error_title=exc.title,
                error_details=exc.details,
            )
        except Exception as exc:
            log.warning("lane %s: send of %s failed unexpectedly: %r", self.number.id, item.wamid, exc)
            return self._in_doubt(item, UpstreamError(131000, repr(exc), outcome_unknown=True))
        now = rt.clock.now()
        rt.metrics.sent.labels(self.upstream.name).inc()
        rt.metrics.dispatch_latency.observe(max(0.0, now - item.created_at))
        extra: dict[str, Any] = {}
        if item.category == "AUTHENTICATION":
            extra["redacted_content"] = redact_codes(item.content)
        return SendOutcome(OutcomeKind.SENT, item.message_id, now, upstream_id=upstream_id, extra=extra)

    def _in_doubt(self, item: Claimed, exc: UpstreamError) -> SendOutcome:
        now = self.rt.clock.now()
        self.rt.metrics.in_doubt.inc()
        return SendOutcome(
            OutcomeKind.IN_DOUBT,
            item.message_id,
            now,
            due_at=now + self.rt.settings.reconciliation_window,
            error_code=exc.code,
            error_title=exc.title,
        )

    async def _write(self, outcome: SendOutcome) -> None:
        await self.rt.db.write(outcome)

    async def _record(self, item: Claimed, outcome: SendOutcome) -> None:
        """Write the outcome of a send that reached the upstream, trying again while the database is
        away (a restart): lost, the row would be sent a second time after the reconciliation window.

        The tries stop a second before that window ends (counted from the end of the claim's lease),
        when the row may be claimed and sent again; the last error is raised.
        """
        give_up = item.lease_until + self.rt.settings.reconciliation_window - 1.0
        delay = 0.1
        while True:
            try:
                await self._write(outcome)
                return
            except Exception as exc:
                if self.rt.clock.now() + delay >= give_up:
                    raise
                log.warning(
                    "lane %s: the outcome of %s is not recorded yet (%r); trying again in %.1f s",
                    self.number.id,
                    item.wamid,
                    exc,
                    delay,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def stop(self) -> None:
        """Stop claiming; let sends in flight finish; give back what was claimed but not sent."""
        self.stopping = True
        self.wakeup.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._claim is not None:
            with contextlib.suppress(Exception):
                self.buffer.extend(await self._claim)
            self._claim = None
        if self.in_flight:
            await asyncio.wait(list(self.in_flight), timeout=self.rt.settings.send_timeout + 1.0)
        unsent = [item.message_id for item in self.buffer]
        self.buffer.clear()
        if unsent:
            await self.rt.db.write(ReleaseClaims(unsent))


class Upkeep(PeriodicWorker):
    """Settles in-doubt sends, applies parked statuses, forgets expired idempotency keys."""

    name = "upkeep"
    interval = 2.0

    def __init__(self, rt: Runtime) -> None:
        super().__init__()
        self.rt = rt
        self._ticks = 0

    async def tick(self) -> None:
        rt = self.rt
        now = rt.clock.now()
        recovered = await rt.db.write(RecoverInDoubt(now, rt.settings.reconciliation_window))
        if recovered:
            rt.metrics.in_doubt.inc(recovered)
            log.warning(
                "%d sends in doubt after a lost lease wait %.0f s for reconciliation",
                recovered,
                rt.settings.reconciliation_window,
            )
        await rt.db.write(ApplyParked(now))
        self._ticks += 1
        if self._ticks % 30 == 0:
            await rt.db.write(PruneIdempotencyKeys(now - rt.settings.idempotency_ttl))
            await rt.db.write(PrunePolicyCounts(now))
            await do_update_quality(rt)


class Dispatcher(Waker, PeriodicWorker):
    """Keeps one lane per phone number whose upstream runs in this process."""

    name = "dispatcher"
    interval = 2.0

    def __init__(self, rt: Runtime) -> None:
        PeriodicWorker.__init__(self)
        self.rt = rt
        self.lanes: dict[int, Lane] = {}
        self.upkeep = Upkeep(rt)
        self._unserved: set[int] = set()
        # Numbers seen at start-up were told to the upstreams then (`simulator_sync.sync_all`).
        self._looked = False

    def wake(self, number_id: int) -> None:
        lane = self.lanes.get(number_id)
        if lane is not None:
            lane.wakeup.set()

    def number_changed(self, number: PhoneNumber) -> None:
        """Changed here: the lane follows now. Changed elsewhere, or moved to an upstream this process
        does not run: the next tick (2 s) sees it."""
        lane = self.lanes.get(number.id)
        upstream = self.rt.upstreams.get(number.upstream)
        if lane is not None and upstream is not None:
            lane.update(number, upstream)

    async def begin(self) -> None:
        await self.upkeep.tick()
        await self.tick()
        self.start()
        self.upkeep.start()

    async def tick(self) -> None:
        numbers = await self.rt.db.read(tenancy_sql.all_numbers)
        for number in numbers:
            lane = self.lanes.get(number.id)
            upstream = self.rt.upstreams.get(number.upstream)
            if lane is not None and (upstream is not None or number.upstream == lane.number.upstream):
                moved = number.upstream != lane.number.upstream
                lane.update(number, upstream)
                if moved:
                    await self._upstream_learns(number)
                continue
            if lane is not None:
                # Moved to an upstream this process does not run: its sends wait for a process that does.
                del self.lanes[number.id]
                await lane.stop()
            if upstream is None:
                if number.id not in self._unserved:
                    self._unserved.add(number.id)
                    log.warning(
                        "number %s uses the %r upstream, which this process does not run (the in-process "
                        "simulator runs only in `wagate serve`); its messages wait for a process that does",
                        number.id,
                        number.upstream,
                    )
                continue
            self._unserved.discard(number.id)
            if self._looked:
                await self._upstream_learns(number)
            lane = self.lanes[number.id] = Lane(self.rt, number, upstream)
            lane.start()
        self._looked = True

    async def _upstream_learns(self, number: PhoneNumber) -> None:
        """A number added or moved by another process (`wagate numbers add`): an upstream that keeps a
        copy (the simulator) learns its account's messaging limit and templates before the number sends."""
        await simulator_sync.number_added(self.rt, number.waba_id)

    async def shutdown(self) -> None:
        await self.stop()
        await self.upkeep.stop()
        await asyncio.gather(*(lane.stop() for lane in self.lanes.values()))
