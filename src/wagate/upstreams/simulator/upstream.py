"""The simulator as an upstream: an in-process virtual WhatsApp network.

It mints its own message ids, keeps the rules of `network.py` and Meta's policy of `policy.py` (from its
own state: templates and messaging limits it is told of, windows its customers open), fetches media sent
by link as Meta does (`media_links.py`), journals every accepted send durably, and reports receipts
(sent → delivered → read, or failed) as Meta webhook envelopes handed to wagate's one ingest path,
batched as Meta batches them. Receipts it still owes, links it has still to fetch, open windows,
marketing stops and the rolling counts of the limits survive a crash: they are rebuilt from the journal
at start.
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
from wagate.cloudapi.error_codes import lookup
from wagate.cloudapi.webhooks import (
    MAX_CHANGES_PER_POST,
    account_envelope,
    error_object,
    messages_envelope,
    status_event,
)
from wagate.domain.numbers import tier_of_limit
from wagate.domain.policy import TIER_LIMITS
from wagate.ids import new_graph_id, new_wamid
from wagate.settings import SimulatorSettings
from wagate.upstreams.base import IngestFn, NumberRef, TemplateCopy, UpstreamError
from wagate.upstreams.simulator.journal import Journal, read_journal
from wagate.upstreams.simulator.lifecycle import Lifecycles, SimulatedNumbers
from wagate.upstreams.simulator.media_links import LinkFetcher, linked_media
from wagate.upstreams.simulator.network import NetworkRules
from wagate.upstreams.simulator.policy import Policy, Refusal, expected_template

log = logging.getLogger(__name__)

_CALLBACK_MEMORY = 500_000
PREFERENCE_DETAILS = {
    "stop": "User requested to stop marketing messages",
    "resume": "User requested to resume marketing messages",
}


@dataclass(frozen=True, slots=True)
class Receipt:
    number: NumberRef
    sim_id: str
    status: str
    recipient: str
    callback_data: str | None
    category: str | None
    errors: list[dict[str, Any]] | None = None


def _failure_error(failure: Refusal | None) -> list[dict[str, Any]]:
    if failure is None:
        return [
            error_object(
                131026,
                "Message undeliverable",
                "Message Undeliverable: the recipient is not a WhatsApp user.",
            )
        ]
    return [error_object(failure.code, lookup(failure.code).title, failure.details)]


def _journalled(failure: Refusal) -> dict[str, Any]:
    return {"rule": failure.rule, "code": failure.code, "details": failure.details}


class SimulatorUpstream(SimulatedNumbers):
    name = "simulator"
    # The accounts' templates and numbers' standing are wagate's: the simulator keeps a copy.
    at_meta = False

    def __init__(
        self,
        clock: Clock,
        settings: SimulatorSettings,
        journal_path: Path | None,
        rules: NetworkRules | None = None,
        *,
        allow_private: bool = False,
    ) -> None:
        self.clock = clock
        self.settings = settings
        self.rules = rules or NetworkRules()
        self.policy = Policy(settings.marketing_per_user_day)
        self.journal = Journal(journal_path if settings.journal else None)
        # Media links are fetched as Meta fetches them: public addresses only unless the deployment
        # allows private ones (`WAGATE_ALLOW_PRIVATE_TARGETS`).
        self.links = LinkFetcher(clock, allow_private=allow_private, timeout=settings.media_link_timeout)
        self._fetching: set[asyncio.Task[None]] = set()
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
        # Numbers' verification, registration and business profiles (Meta's side of their life).
        self.lifecycles = Lifecycles(
            None if journal_path is None else journal_path.with_name("lifecycle.json")
        )

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self, ingest: IngestFn) -> None:
        self._ingest = ingest
        if self.journal.path is not None:
            self._replay(self.journal.path)
        self.journal.open()
        self._pump_task = asyncio.create_task(self._pump(), name="simulator-receipts")

    async def close(self) -> None:
        # A message whose links were not fetched yet is fetched again after a restart (`_replay`).
        for task in list(self._fetching):
            task.cancel()
        for task in list(self._fetching):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.links.close()
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
        is_user = rules.is_user(to)
        now = self.clock.now()
        verdict = self.policy.admit(number.id, number.waba_id, to, payload, now, is_user)
        if isinstance(verdict, Refusal):
            rules.refuse(verdict.rule)
            raise UpstreamError(verdict.code, verdict.details)
        failure = verdict.failure
        if failure is not None:
            rules.refuse(failure.rule)
        sim_id = new_wamid(b"SM")
        callback = payload.get("biz_opaque_callback_data")
        record: dict[str, Any] = {
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
            "cat": verdict.category,
            "user": is_user,
        }
        if verdict.counts_tier:
            record["tier"] = True
        if verdict.counts_marketing:
            record["mkt"] = True
        if failure is not None:
            record["fail"] = _journalled(failure)
        # Meta fetches the media of a message it would deliver; one failing anyway is not fetched.
        links = linked_media(payload) if is_user and failure is None else []
        if links:
            record["links"] = links
        await self.journal.append_durably(record)
        self.accepted += 1
        if isinstance(callback, str):
            self._remember(callback, sim_id)
        if links:
            self._fetch_then_report(number, sim_id, to, callback, verdict.category, links)
        else:
            self._schedule_receipts(
                number, sim_id, to, callback, verdict.category, is_user, delay_base=0.0, failure=failure
            )
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

    def _fetch_then_report(
        self,
        number: NumberRef,
        sim_id: str,
        to: str,
        callback: str | None,
        category: str | None,
        links: list[tuple[str, str]],
    ) -> None:
        """Fetch the message's media links beside the other sends, then report it delivered, or failed
        with 131053 if a link cannot be fetched or its file is not one WhatsApp takes."""

        async def fetch() -> None:
            try:
                problem = await self.links.problem(links)
            except Exception:
                log.exception("simulator: fetching the media links of %s failed", sim_id)
                problem = "The media link could not be fetched."
            # Not counted among `rules.refusals`: wagate cannot know a link's file before it sends.
            failure = None if problem is None else Refusal("media_link", 131053, problem)
            outcome: dict[str, Any] = {"k": "media", "id": sim_id}
            if failure is not None:
                outcome["fail"] = _journalled(failure)
            self.journal.append(outcome)
            self._schedule_receipts(
                number, sim_id, to, callback, category, True, delay_base=0.0, failure=failure
            )

        task = asyncio.create_task(fetch(), name=f"simulator-media-{sim_id}")
        self._fetching.add(task)
        task.add_done_callback(self._fetching.discard)

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
        failure: Refusal | None = None,
    ) -> None:
        s = self.settings
        if not is_user or failure is not None:
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
            errors = _failure_error(failure) if status == "failed" else None
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
                # Not asyncio.wait_for: on Python 3.11 it can swallow a cancellation (from `close`) that
                # arrives as the event is set, and the pump then never stops.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
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
        now = self.clock.now()
        # The window is open before wagate hears of the message, so an immediate answer is allowed.
        self.policy.customer_wrote(number.id, wa_id, now)
        await self.journal.append_durably({"k": "in", "pn": number.id, "wa": wa_id, "at": now})
        inbound = {"from": wa_id, "id": sim_id, "timestamp": str(int(now)), **message}
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

    async def customer_preferences(self, number: NumberRef, wa_id: str, value: str) -> None:
        """A customer stops ("stop") or resumes ("resume") marketing messages from the number's account;
        wagate hears of it as Meta's `user_preferences` webhook."""
        if value not in PREFERENCE_DETAILS:
            raise ValueError(f"a marketing preference is 'stop' or 'resume', not {value!r}")
        assert self._ingest is not None
        now = self.clock.now()
        self.policy.set_marketing_stopped(number.waba_id, wa_id, value == "stop")
        await self.journal.append_durably(
            {"k": "pref", "waba": number.waba_id, "wa": wa_id, "v": value, "at": now}
        )
        preference = {
            "wa_id": wa_id,
            "detail": PREFERENCE_DETAILS[value],
            "category": "marketing_messages",
            "value": value,
            "timestamp": int(now),
        }
        change = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": number.digits,
                "phone_number_id": str(number.id),
            },
            "user_preferences": [preference],
        }
        await self._ingest(account_envelope(number.waba_id, "user_preferences", change, now))

    async def set_messaging_tier(self, number: NumberRef, tier: str) -> None:
        """Meta moves the number's account to another messaging limit (`TIER_250` … `TIER_UNLIMITED`);
        wagate hears of it as Meta's `phone_number_quality_update` webhook with the new `current_limit`."""
        if tier not in TIER_LIMITS or tier == "TIER_NOT_SET":
            raise ValueError(f"unknown messaging tier {tier!r}")
        assert self._ingest is not None
        before = self.policy.messaging_limit(number.waba_id)
        after = TIER_LIMITS[tier]
        self.policy.sync_account(number.waba_id, after)
        upgrade = after is None or (before is not None and after > before)
        value = {
            "display_phone_number": number.digits,
            "event": "UPGRADE" if upgrade else "DOWNGRADE",
            "current_limit": tier,
        }
        now = self.clock.now()
        await self._ingest(account_envelope(number.waba_id, "phone_number_quality_update", value, now))

    # -- what Meta knows of the business ---------------------------------------------------------
    def sync_template(self, template: TemplateCopy) -> None:
        """Meta's copy of a template: what a send of it is checked against."""
        t = template
        self.policy.sync_template(
            expected_template(
                t.template_id, t.waba_id, t.name, t.language, t.status, t.category, t.parameter_format,
                t.components,
            )
        )  # fmt: skip

    def forget_template(self, waba_id: int, template_id: int) -> None:
        self.policy.forget_template(waba_id, template_id)

    def drop_template(self, template_id: int) -> None:
        known_in = self.policy.template_account(template_id)
        if known_in is not None:
            self.policy.forget_template(known_in, template_id)

    def template_account(self, template_id: int) -> int | None:
        """The account of a template the simulator knows, if it knows it."""
        return self.policy.template_account(template_id)

    def template_ids(self, waba_id: int, name: str) -> list[int]:
        """The ids of the account's templates named `name` (one per language) the simulator knows."""
        return self.policy.template_ids(waba_id, name)

    def sync_account(self, waba_id: int, messaging_limit: int | None) -> None:
        """The account's messaging limit: unique customers per 24 hours outside windows (None: unlimited)."""
        self.policy.sync_account(waba_id, messaging_limit)

    # -- a number's life (`SimulatedNumbers`) and templates: wagate's records, the simulator's copy ------
    async def number_fields(self, number: NumberRef, fields: str | None) -> dict[str, Any]:
        """The number's lifecycle as the simulator follows it, and its account's messaging limit."""
        limit = self.policy.messaging_limit(number.waba_id)
        return {
            "id": str(number.id),
            **self.lifecycles.describe(number.id),
            "messaging_limit_tier": tier_of_limit(limit),
        }

    async def template_page(self, waba_id: int, params: dict[str, str]) -> dict[str, Any]:
        raise _templates_here()

    async def create_template(self, waba_id: int, body: Any) -> dict[str, Any]:
        raise _templates_here()

    async def edit_template(self, waba_id: int, template_id: int, body: Any) -> dict[str, Any]:
        raise _templates_here()

    async def delete_templates(self, waba_id: int, params: dict[str, str]) -> dict[str, Any]:
        raise _templates_here()

    async def subscribe_app(self, waba_id: int) -> dict[str, Any]:
        raise _templates_here()

    async def unsubscribe_app(self, waba_id: int) -> dict[str, Any]:
        raise _templates_here()

    # -- recovery --------------------------------------------------------------------------------
    def _replay(self, path: Path) -> None:
        sends: dict[str, dict[str, Any]] = {}
        done: dict[str, set[str]] = {}
        fetched: dict[str, dict[str, Any] | None] = {}  # the outcome of each message's link fetches
        policy = self.policy
        for record in read_journal(path):
            kind = record.get("k")
            if kind == "send":
                sends[record["id"]] = record
                if record.get("tier"):
                    policy.restore_reached(record["waba"], record["to"], record["at"])
                if record.get("mkt"):
                    policy.restore_marketing(record["to"], record["at"])
            elif kind == "rcpt":
                done.setdefault(record["id"], set()).add(record["s"])
            elif kind == "media":
                fetched[record["id"]] = record.get("fail")
            elif kind == "in":
                policy.customer_wrote(record["pn"], record["wa"], record["at"])
            elif kind == "pref":
                policy.set_marketing_stopped(record["waba"], record["wa"], record["v"] == "stop")
        owed = 0
        for sim_id, rec in sends.items():
            delivered = done.get(sim_id, set())
            fail = rec.get("fail") or fetched.get(sim_id)
            failure = None if fail is None else Refusal(fail["rule"], fail["code"], fail["details"])
            final = "read" if rec.get("user") and failure is None else "failed"
            if final in delivered or "failed" in delivered:
                continue
            number = NumberRef(rec["pn"], rec["disp"], rec["waba"], rec.get("rate", 80))
            if isinstance(rec.get("cb"), str):
                self._remember(rec["cb"], sim_id)
            links = rec.get("links")
            if links and sim_id not in fetched and not delivered:
                # Its links were still being fetched: fetch them again (the receipts wait for it).
                found = [(str(media), str(url)) for media, url in links]
                self._fetch_then_report(number, sim_id, rec["to"], rec.get("cb"), rec.get("cat"), found)
                owed += 1
                continue
            self._schedule_receipts(
                number,
                sim_id,
                rec["to"],
                rec.get("cb"),
                rec.get("cat"),
                bool(rec.get("user")),
                delay_base=0.0,
                skip=frozenset(delivered),
                failure=failure,
            )
            owed += 1
        if owed:
            log.info("simulator: %d messages still owed receipts after restart", owed)


def _templates_here() -> UpstreamError:
    return UpstreamError(100, "the simulator's accounts are not at Meta: wagate keeps their templates")


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
