"""The one ingest path's storage: keep every upstream event, then apply it, in the same commit.

An envelope is stored as received and processed in the transaction that stores it, so an event that
was acknowledged has had its effects, and a repeated one has none twice: inbound messages are unique
per (number, upstream id), status transitions per (message, status). Events for the business are
recorded in the same commit (`store/events.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import Connection, delete, select

from wagate.cloudapi.webhooks import StatusEvent, envelope_decoder, value_decoder
from wagate.store import sealed
from wagate.store.db import BatchJob, Job
from wagate.store.ingest_account import AccountChange, apply_account_changes
from wagate.store.ingest_messages import Inbound, apply_inbound
from wagate.store.ingest_statuses import apply_statuses
from wagate.store.schema import inbound_events, messages, parked_statuses
from wagate.store.sql import insert_rows

log = logging.getLogger(__name__)
_dict_decoder = msgspec.json.Decoder(dict[str, Any])


@dataclass(slots=True)
class IngestReport:
    statuses: int = 0
    statuses_parked: int = 0
    messages: int = 0
    other: int = 0
    ignored: int = 0


@dataclass(slots=True)
class _Batch:
    statuses: list[tuple[int, StatusEvent]] = field(default_factory=list)
    inbound: list[Inbound] = field(default_factory=list)
    account: list[AccountChange] = field(default_factory=list)


@dataclass(slots=True)
class IngestEnvelope(BatchJob[IngestReport]):
    """Store an envelope as received and apply it. It is parsed when the job is made, in the caller's
    thread, so the writer spends its time on the database only."""

    body: bytes
    source: str
    received_at: float
    parsed: _Batch = field(default_factory=_Batch)
    report: IngestReport = field(default_factory=IngestReport)

    def __post_init__(self) -> None:
        _collect(self.body, self.parsed, self.report)

    @classmethod
    def run_batch(cls, conn: Connection, jobs: Sequence[Job[Any]]) -> list[Any]:
        envelopes = [job for job in jobs if isinstance(job, IngestEnvelope)]
        insert_rows(
            conn,
            inbound_events,
            [
                {
                    "source": e.source,
                    "received_at": e.received_at,
                    "body": sealed.seal_bytes(conn, inbound_events.c.body, e.body),
                    "processed_at": e.received_at,
                }
                for e in envelopes
            ],
        )
        reports = [envelope.report for envelope in envelopes]
        batch = _Batch()
        for envelope in envelopes:
            batch.statuses.extend(envelope.parsed.statuses)
            batch.inbound.extend(envelope.parsed.inbound)
            batch.account.extend(envelope.parsed.account)
        now = envelopes[0].received_at
        reports[0].statuses_parked = apply_statuses(conn, batch.statuses, now)
        apply_inbound(conn, batch.inbound, now)
        apply_account_changes(conn, batch.account, now)
        return reports


def _collect(body: bytes, batch: _Batch, report: IngestReport) -> None:
    try:
        envelope = envelope_decoder.decode(body)
    except msgspec.DecodeError as exc:
        log.warning("ingest: kept an event that is not a webhook envelope: %s", exc)
        report.ignored += 1
        return
    for entry in envelope.entry:
        for change in entry.changes:
            if change.field != "messages":
                try:
                    value = _dict_decoder.decode(change.value)
                except msgspec.DecodeError as exc:
                    log.warning("ingest: kept a %s change whose value does not parse: %s", change.field, exc)
                    report.ignored += 1
                    continue
                batch.account.append(AccountChange(entry.id, change.field, value, entry.time))
                report.other += 1
                continue
            try:
                parsed = value_decoder.decode(change.value)
            except msgspec.DecodeError as exc:
                log.warning("ingest: kept a messages change whose value does not parse: %s", exc)
                report.ignored += 1
                continue
            number_id = _number_id(parsed.metadata.phone_number_id if parsed.metadata else "")
            if number_id is None:
                log.warning("ingest: kept a messages change without a phone number id")
                report.ignored += 1
                continue
            for status in parsed.statuses or ():
                batch.statuses.append((number_id, status))
                report.statuses += 1
            profiles = {c.get("wa_id"): c for c in parsed.contacts or ()}
            for message in parsed.messages or ():
                batch.inbound.append(Inbound(number_id, message, profiles.get(message.get("from"))))
                report.messages += 1
            if parsed.errors:
                # Errors about the account or the app, not about one message.
                log.warning("ingest: Meta reports errors for number %s: %s", number_id, parsed.errors)
                batch.account.append(
                    AccountChange(entry.id, "messages", _dict_decoder.decode(change.value), entry.time)
                )


def _number_id(raw: str) -> int | None:
    try:
        return int(raw)
    except ValueError:
        return None


@dataclass(slots=True)
class ApplyParked(Job[int]):
    """Apply parked statuses whose message has become known since."""

    now: float

    def run(self, conn: Connection) -> int:
        rows = conn.execute(
            select(parked_statuses.c.id, parked_statuses.c.phone_number_id, parked_statuses.c.status)
            .join(
                messages,
                (messages.c.phone_number_id == parked_statuses.c.phone_number_id)
                & (messages.c.upstream_id == parked_statuses.c.upstream_id),
            )
            .limit(5000)
            # Rows another worker is applying at this moment stay with it (PostgreSQL).
            .with_for_update(of=parked_statuses, skip_locked=True)
        ).all()
        if not rows:
            return 0
        decoder = msgspec.json.Decoder(StatusEvent)
        events = [(row.phone_number_id, decoder.decode(row.status)) for row in rows]
        conn.execute(delete(parked_statuses).where(parked_statuses.c.id.in_([row.id for row in rows])))
        apply_statuses(conn, events, self.now)
        return len(rows)
