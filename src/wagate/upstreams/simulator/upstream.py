"""The simulator as an upstream: an in-process virtual WhatsApp network.

It mints its own message ids, keeps the rules of `network.py`, journals every accepted send durably,
and reports receipts (sent → delivered → read, or failed) as Meta webhook envelopes handed to wagate's
one ingest path, batched as Meta batches them. Receipts it still owes survive a crash: they are
rebuilt from the journal at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import heapq
import itertools
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import phonenumbers

from wagate.clock import Clock
from wagate.cloudapi.webhooks import MAX_CHANGES_PER_POST, error_object, messages_envelope, status_event
from wagate.ids import new_graph_id, new_wamid
from wagate.settings import SimulatorSettings
from wagate.upstreams.base import IngestFn, NumberRef, UpstreamError
from wagate.upstreams.simulator.journal import Journal, read_journal
from wagate.upstreams.simulator.network import NetworkRules

log = logging.getLogger(__name__)

_CALLBACK_MEMORY = 500_000


@dataclass(frozen=True, slots=True)
class Receipt:
    number: NumberRef
    sim_id: str
    status: str
    recipient: str
    callback_data: str | None
    category: str | None
    errors: list[dict[str, Any]] | None = None


class SimulatorUpstream:
    name = "simulator"

    def __init__(
        self,
        clock: Clock,
        settings: SimulatorSettings,
        journal_path: Path | None,
        rules: NetworkRules | None = None,
    ) -> None:
        self.clock = clock
        self.settings = settings
        self.rules = rules or NetworkRules()
        self.journal = Journal(journal_path if settings.journal else None)
        self._ingest: IngestFn | None = None
        self._heap: list[tuple[float, int, Receipt]] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._pump_task: asyncio.Task[None] | None = None
        self._by_callback: dict[str, str] = {}
        self.accepted = 0
        self.receipts_delivered = 0
        self.read_marks: list[tuple[int, str, bool]] = []
        # Media the simulated network holds: uploads from wagate and files customers sent.
        self.media: dict[str, tuple[bytes, str, int]] = {}

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self, ingest: IngestFn) -> None:
        self._ingest = ingest
        if self.journal.path is not None:
            self._replay(self.journal.path)
        self.journal.open()
        self._pump_task = asyncio.create_task(self._pump(), name="simulator-receipts")

    async def close(self) -> None:
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump_task
            self._pump_task = None
        await self.journal.close()

    # -- sending ---------------------------------------------------------------------------------
    async def send(self, number: NumberRef, payload: dict[str, Any]) -> str:
        rules = self.rules
        if rules.roll(rules.faults.lost):
            raise UpstreamError(131000, "upstream timed out", outcome_unknown=True)
        if rules.roll(rules.faults.server_error):
            raise UpstreamError(131000, "injected server error")
        if rules.roll(rules.faults.throttle) or not rules.take_throughput(
            number.id, number.rate, time.monotonic()
        ):
            raise UpstreamError(130429, "Cloud API message throughput has been reached.")
        to = str(payload.get("to", ""))
        if not rules.take_pair(number.id, to, time.monotonic()):
            raise UpstreamError(
                131056,
                "Message failed to send because there were too many messages sent "
                "from this phone number to the same phone number in a short period of time.",
            )
        sim_id = new_wamid(b"SM")
        callback = payload.get("biz_opaque_callback_data")
        category = _pricing_category(payload)
        is_user = rules.is_user(to)
        now = self.clock.now()
        await self.journal.append_durably(
            {
                "k": "send",
                "id": sim_id,
                "cb": callback,
                "pn": number.id,
                "waba": number.waba_id,
                "disp": number.display_phone_number,
                "rate": number.rate,
                "to": to,
                "at": now,
                "type": payload.get("type"),
                "cat": category,
                "user": is_user,
            }
        )
        self.accepted += 1
        if isinstance(callback, str):
            self._remember(callback, sim_id)
        self._schedule_receipts(number, sim_id, to, callback, category, is_user, delay_base=0.0)
        if rules.roll(rules.faults.timeout):
            raise UpstreamError(131000, "upstream timed out", outcome_unknown=True)
        return sim_id

    async def mark_read(self, number: NumberRef, upstream_message_id: str, typing: bool) -> None:
        """The customer's phone shows the message read (and a typing indicator); nothing is reported."""
        self.read_marks.append((number.id, upstream_message_id, typing))
        if len(self.read_marks) > 10_000:
            del self.read_marks[:5_000]

    async def upload_media(self, number: NumberRef, data: bytes, mime_type: str, filename: str | None) -> str:
        media_id = str(new_graph_id())
        self.media[media_id] = (data, mime_type, number.id)
        return media_id

    async def download_media(self, number: NumberRef, upstream_media_id: str) -> tuple[bytes, str]:
        found = self.media.get(upstream_media_id)
        if found is None or found[2] != number.id:
            raise UpstreamError(131052, f"no media {upstream_media_id} for this number")
        return found[0], found[1]

    def _schedule_receipts(
        self,
        number: NumberRef,
        sim_id: str,
        to: str,
        callback: str | None,
        category: str | None,
        is_user: bool,
        *,
        delay_base: float,
        skip: frozenset[str] = frozenset(),
    ) -> None:
        s = self.settings
        if not is_user:
            plan = [("failed", s.sent_delay)]
        else:
            plan = [("sent", s.sent_delay), ("delivered", s.delivered_delay), ("read", s.read_delay)]
        if self.rules.roll(self.rules.faults.reorder_receipts):
            delays = [d for _, d in plan]
            self.rules.rng.shuffle(delays)
            plan = [(status, delays[i]) for i, (status, _) in enumerate(plan)]
        start = time.monotonic() + delay_base
        for status, delay in plan:
            if status in skip:
                continue
            errors = None
            if status == "failed":
                errors = [
                    error_object(
                        131026,
                        "Message undeliverable",
                        "Message Undeliverable: the recipient is not a WhatsApp user.",
                    )
                ]
            receipt = Receipt(number, sim_id, status, to, callback, category, errors)
            self._push(start + delay, receipt)
            if self.rules.roll(self.rules.faults.duplicate_receipts):
                self._push(start + delay + 0.05, receipt)

    def _push(self, due: float, receipt: Receipt) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), receipt))
        self._wake.set()

    def _remember(self, callback: str, sim_id: str) -> None:
        self._by_callback[callback] = sim_id
        if len(self._by_callback) > _CALLBACK_MEMORY:
            oldest = next(iter(self._by_callback))
            del self._by_callback[oldest]

    def resolve_message_id(self, message_id: str) -> str:
        """The simulator's id for a message named by the simulator's id or by wagate's callback id."""
        return self._by_callback.get(message_id, message_id)

    # -- receipts --------------------------------------------------------------------------------
    async def _pump(self) -> None:
        while True:
            if not self._heap:
                self._wake.clear()
                await self._wake.wait()
                continue
            delay = self._heap[0][0] - time.monotonic()
            if delay > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
                continue
            now = time.monotonic()
            due: list[Receipt] = []
            while self._heap and self._heap[0][0] <= now and len(due) < 20 * MAX_CHANGES_PER_POST:
                due.append(heapq.heappop(self._heap)[2])
            await self._deliver(due)

    async def _deliver(self, receipts: list[Receipt]) -> None:
        assert self._ingest is not None
        by_number: dict[int, list[Receipt]] = {}
        for receipt in receipts:
            by_number.setdefault(receipt.number.id, []).append(receipt)
        for group in by_number.values():
            for start in range(0, len(group), MAX_CHANGES_PER_POST):
                chunk = group[start : start + MAX_CHANGES_PER_POST]
                number = chunk[0].number
                now = self.clock.now()
                statuses = [
                    status_event(
                        r.sim_id,
                        r.status,
                        now,
                        r.recipient,
                        callback_data=r.callback_data,
                        category=r.category,
                        errors=r.errors,
                        recipient_user_id=user_id_for(r.recipient, number.waba_id),
                    )
                    for r in chunk
                ]
                body = messages_envelope(
                    number.waba_id, number.id, number.display_phone_number, {"statuses": statuses}
                )
                try:
                    await self._ingest(body)
                except Exception:
                    # As Meta does, keep the events and try again later.
                    log.exception("ingest refused %d receipts; retrying in 1 s", len(chunk))
                    retry_at = time.monotonic() + 1.0
                    for receipt in chunk:
                        self._push(retry_at, receipt)
                    continue
                self.receipts_delivered += len(chunk)
                for receipt in chunk:
                    self.journal.append({"k": "rcpt", "id": receipt.sim_id, "s": receipt.status})

    # -- customers -------------------------------------------------------------------------------
    async def customer_message(
        self, number: NumberRef, wa_id: str, profile_name: str, message: dict[str, Any]
    ) -> str:
        """A customer writes to the business: `message` is Meta's inbound object without from/id/timestamp."""
        assert self._ingest is not None
        sim_id = new_wamid(b"SC")
        inbound = {"from": wa_id, "id": sim_id, "timestamp": str(int(self.clock.now())), **message}
        contact = {
            "profile": {"name": profile_name},
            "wa_id": wa_id,
            "user_id": user_id_for(wa_id, number.waba_id),
        }
        body = messages_envelope(
            number.waba_id,
            number.id,
            number.display_phone_number,
            {"contacts": [contact], "messages": [inbound]},
        )
        await self._ingest(body)
        return sim_id

    # -- recovery --------------------------------------------------------------------------------
    def _replay(self, path: Path) -> None:
        sends: dict[str, dict[str, Any]] = {}
        done: dict[str, set[str]] = {}
        for record in read_journal(path):
            kind = record.get("k")
            if kind == "send":
                sends[record["id"]] = record
            elif kind == "rcpt":
                done.setdefault(record["id"], set()).add(record["s"])
        owed = 0
        for sim_id, rec in sends.items():
            delivered = done.get(sim_id, set())
            final = "read" if rec.get("user") else "failed"
            if final in delivered:
                continue
            number = NumberRef(rec["pn"], rec["disp"], rec["waba"], rec.get("rate", 80))
            if isinstance(rec.get("cb"), str):
                self._remember(rec["cb"], sim_id)
            self._schedule_receipts(
                number,
                sim_id,
                rec["to"],
                rec.get("cb"),
                rec.get("cat"),
                bool(rec.get("user")),
                delay_base=0.0,
                skip=frozenset(delivered),
            )
            owed += 1
        if owed:
            log.info("simulator: %d messages still owed receipts after restart", owed)


@functools.lru_cache(maxsize=100_000)
def user_id_for(wa_id: str, waba_id: int) -> str:
    """The customer's business-scoped user id, as Meta mints them since 2026: stable per user and
    business, `<country>.<digits>`."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse("+" + wa_id)) or "ZZ"
    except phonenumbers.NumberParseException:
        region = "ZZ"
    digest = hashlib.sha256(f"{waba_id}:{wa_id}".encode()).hexdigest()
    return f"{region}.{int(digest[:16], 16)}"


def _pricing_category(payload: dict[str, Any]) -> str:
    if payload.get("type") == "template":
        return "utility"
    return "service"
