"""The consent ledger and the organization's policy settings: writes, and the reads the send path needs.

Consent records are never updated nor erased: a change of mind is a new record, and erasing a contact
keeps them, since they show that a message was wanted (or that it was not sent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import Connection, bindparam, func, select

from wagate.domain.consent import ConsentRecord, current_consents
from wagate.domain.policy_settings import PolicySettings, parse_policy
from wagate.store import sealed
from wagate.store.contacts import search_text_of
from wagate.store.db import BatchJob, Job
from wagate.store.events import NewEvent, record_events
from wagate.store.schema import consents, contacts, org_policies
from wagate.store.sql import insert_rows, many, upsert

_CHUNK = 500
_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class NewConsent:
    org_id: int
    wa_id: str
    purpose: str
    action: str
    source: str
    proof: str | None
    message_wamid: str | None
    at: float


_LAST_ID = select(func.max(consents.c.id))


def record_consents(conn: Connection, new: Sequence[NewConsent], now: float) -> list[ConsentRecord]:
    """Write consent records and a `contact.consent` event for each, in the caller's transaction."""
    records = insert_consents(conn, new, now)
    record_events(conn, consent_events(records, now))
    return records


def insert_consents(conn: Connection, new: Sequence[NewConsent], now: float) -> list[ConsentRecord]:
    """Write consent records without their events (for callers that record them with others, in order)."""
    if not new:
        return []
    rows = [
        {
            "org_id": c.org_id,
            "wa_id": c.wa_id,
            "purpose": c.purpose,
            "action": c.action,
            "source": c.source,
            "proof": sealed.seal_opt(conn, consents.c.proof, c.proof),
            "message_wamid": c.message_wamid,
            "at": c.at,
            "recorded_at": now,
        }
        for c in new
    ]
    if conn.dialect.name == "sqlite":
        # The writer holds SQLite's write lock (BEGIN IMMEDIATE): the next ids are ours to take.
        first = int(conn.execute(_LAST_ID).scalar() or 0) + 1
        ids = list(range(first, first + len(rows)))
        insert_rows(conn, consents, [{"id": cid, **row} for row, cid in zip(rows, ids, strict=True)])
    else:
        result = conn.execute(consents.insert().returning(consents.c.id, sort_by_parameter_order=True), rows)
        ids = [int(row[0]) for row in result]
    records = [
        ConsentRecord(
            cid, c.org_id, c.wa_id, c.purpose, c.action, c.source, c.proof, c.message_wamid, c.at, now
        )
        for cid, c in zip(ids, new, strict=True)
    ]
    return records


def consent_events(records: Sequence[ConsentRecord], now: float) -> list[NewEvent]:
    return [
        NewEvent(r.org_id, "contact.consent", present_record(r) | {"wa_id": r.wa_id}, now) for r in records
    ]


def present_record(record: ConsentRecord) -> dict[str, Any]:
    """A record as the API and events show it."""
    return {
        "id": record.id,
        "purpose": record.purpose,
        "action": record.action,
        "source": record.source,
        "proof": record.proof,
        "message_id": record.message_wamid,
        "at": record.at,
        "recorded_at": record.recorded_at,
    }


@dataclass(slots=True)
class RecordConsents(BatchJob[list[ConsentRecord]]):
    """Write consent records (and their events); returns them with their ids."""

    new: list[NewConsent]
    now: float

    @classmethod
    def run_batch(cls, conn: Connection, jobs: Sequence[Job[Any]]) -> list[Any]:
        mine = [job for job in jobs if isinstance(job, RecordConsents)]
        records = record_consents(conn, [c for job in mine for c in job.new], mine[0].now)
        out, start = [], 0
        for job in mine:
            out.append(records[start : start + len(job.new)])
            start += len(job.new)
        return out


def _record(conn: Connection, row: Any) -> ConsentRecord:
    return ConsentRecord(
        id=int(row.id),
        org_id=int(row.org_id),
        wa_id=row.wa_id,
        purpose=row.purpose,
        action=row.action,
        source=row.source,
        proof=sealed.open_opt(conn, consents.c.proof, row.proof),
        message_wamid=row.message_wamid,
        at=float(row.at),
        recorded_at=float(row.recorded_at),
    )


_HISTORY = (
    select(consents)
    .where(consents.c.org_id == bindparam("org_id"), consents.c.wa_id == bindparam("wa_id"))
    .order_by(consents.c.at, consents.c.id)
)
# Every record of some contacts, through `ix_consents_contact`; folded to the latest in Python, since a
# contact has a handful of records.
_OF_CONTACTS = select(consents).where(
    consents.c.org_id == bindparam("org_id"), consents.c.wa_id.in_(many("wa_ids"))
)


def consent_history(conn: Connection, org_id: int, wa_id: str) -> list[ConsentRecord]:
    """Every record of a contact, oldest first."""
    return [_record(conn, row) for row in conn.execute(_HISTORY, {"org_id": org_id, "wa_id": wa_id})]


def latest_consents(conn: Connection, org_id: int, wa_ids: list[str]) -> dict[tuple[str, str], ConsentRecord]:
    """The current record of each contact per purpose, keyed (wa_id, purpose); absent when none."""
    by_contact: dict[str, list[ConsentRecord]] = {}
    unique = list(dict.fromkeys(wa_ids))
    for start in range(0, len(unique), _CHUNK):
        rows = conn.execute(_OF_CONTACTS, {"org_id": org_id, "wa_ids": unique[start : start + _CHUNK]})
        for row in rows:
            by_contact.setdefault(row.wa_id, []).append(_record(conn, row))
    return {
        (wa_id, purpose): record
        for wa_id, records in by_contact.items()
        for purpose, record in current_consents(records).items()
    }


_KNOWN_CONTACTS = select(contacts.c.wa_id).where(
    contacts.c.org_id == bindparam("org_id"), contacts.c.wa_id.in_(many("wa_ids"))
)


@dataclass(slots=True)
class ImportConsents(Job[tuple[int, int]]):
    """Record many consents at once, creating the contacts not known yet (consent often comes before the
    first message). Returns (records written, contacts created)."""

    org_id: int
    new: list[NewConsent]
    now: float

    def run(self, conn: Connection) -> tuple[int, int]:
        wa_ids = list(dict.fromkeys(c.wa_id for c in self.new))
        known: set[str] = set()
        for start in range(0, len(wa_ids), _CHUNK):
            chunk = wa_ids[start : start + _CHUNK]
            known.update(
                row.wa_id for row in conn.execute(_KNOWN_CONTACTS, {"org_id": self.org_id, "wa_ids": chunk})
            )
        missing = [w for w in wa_ids if w not in known]
        insert_rows(
            conn,
            contacts,
            [
                {
                    "org_id": self.org_id,
                    "wa_id": wa_id,
                    "profile_name": None,
                    "attributes": sealed.seal(conn, contacts.c.attributes, "{}"),
                    "tags": "[]",
                    "search_text": search_text_of(conn, None, wa_id, {}),
                    "created_at": self.now,
                    "updated_at": self.now,
                }
                for wa_id in missing
            ],
        )
        record_consents(conn, self.new, self.now)
        return len(self.new), len(missing)


# -- policy settings -----------------------------------------------------------------------------------
_POLICIES = select(org_policies.c.org_id, org_policies.c.settings).where(
    org_policies.c.org_id.in_(many("org_ids"))
)


def stored_policies(conn: Connection, org_ids: list[int]) -> dict[int, str]:
    """The stored settings objects (only the keys an organization set) of the organizations that have one."""
    if not org_ids:
        return {}
    return {int(row.org_id): row.settings for row in conn.execute(_POLICIES, {"org_ids": org_ids})}


def load_policy(conn: Connection, org_id: int) -> PolicySettings:
    """The organization's effective settings: what it set, defaults for the rest."""
    raw = stored_policies(conn, [org_id]).get(org_id)
    return PolicySettings() if raw is None else parse_policy(raw)


def load_policies(conn: Connection, org_ids: list[int]) -> dict[int, PolicySettings]:
    stored = stored_policies(conn, org_ids)
    return {
        org_id: parse_policy(stored[org_id]) if org_id in stored else PolicySettings() for org_id in org_ids
    }


@dataclass(slots=True)
class SavePolicy(Job[None]):
    """Store the keys an organization set (validated by the caller); quality columns stay as they are."""

    org_id: int
    overrides: dict[str, Any]
    now: float

    def run(self, conn: Connection) -> None:
        conn.execute(
            upsert(conn, org_policies, ["org_id"], ["settings", "updated_at"]),
            {
                "org_id": self.org_id,
                "settings": _encoder.encode(self.overrides).decode(),
                "updated_at": self.now,
            },
        )
