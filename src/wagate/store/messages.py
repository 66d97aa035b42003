"""Writes and reads of messages and the outbox: accepting, claiming, recording the outcome of a send."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, text, update

from wagate.domain.conversations import BUSINESS_ANSWERED
from wagate.domain.policy import PolicyInput
from wagate.domain.sending import NewMessage
from wagate.errors import GraphError
from wagate.store import sealed
from wagate.store.db import BatchJob, Job
from wagate.store.events import record_events
from wagate.store.message_search import index_of_message
from wagate.store.schema import (
    idempotency_keys,
    marketing_sends,
    message_statuses,
    messages,
    outbox,
    tier_reservations,
)
from wagate.store.send_policy import (
    count_sends,
    decide,
    opted_out_of_marketing,
    template_statuses,
    windows_of,
)
from wagate.store.sql import insert_ignore, insert_rows, many
from wagate.store.status_events import StatusChange, status_events
from wagate.store.tenancy import numbers_by_id
from wagate.store.wakeups import announce


# -- accepting --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """An idempotency key with the digest of the request it came with, and what to answer a repeat:
    the record of the acceptance (`services/sending.py` makes and reads it)."""

    key: str
    request_hash: str
    answer: bytes


class AcceptOutcome(StrEnum):
    ACCEPTED = "accepted"
    REPLAYED = "replayed"  # the same key and body came before: answer as then
    CONFLICT = "conflict"  # the same key came before with another body
    REFUSED = "refused"  # the policy forbids it (`error` says why)


@dataclass(frozen=True, slots=True)
class AcceptResult:
    outcome: AcceptOutcome
    answer: bytes = b""  # REPLAYED: the record stored with the key
    error: GraphError | None = None


@dataclass(slots=True)
class AcceptMessage(BatchJob[AcceptResult]):
    """Write a message, its first status and its outbox row, and remember its idempotency key."""

    message: NewMessage
    idempotency: IdempotencyRecord | None
    idempotency_ttl: float
    # The organization's policy for this send, applied here with the window and consent ledger
    # (None: wagate's own messages, which need no check).
    policy: PolicyInput | None = None

    @classmethod
    def run_batch(cls, conn: Connection, jobs: Sequence[Job[Any]]) -> list[Any]:
        accepts = [job for job in jobs if isinstance(job, AcceptMessage)]
        results: list[AcceptResult | None] = [None] * len(accepts)
        _check_keys(conn, accepts, results)
        checked = [
            (i, job.message, job.policy)
            for i, job in enumerate(accepts)
            if results[i] is None and job.policy is not None
        ]
        decisions = decide(conn, checked)
        for i, refusal in decisions.refused.items():
            results[i] = AcceptResult(AcceptOutcome.REFUSED, error=refusal)
        todo = [(i, job.message) for i, job in enumerate(accepts) if results[i] is None]
        if todo:
            ids = insert_outbound(conn, [m for _, m in todo])
            count_sends(
                conn,
                [
                    (mid, m, policy, decisions.initiated.get(i, False))
                    for (i, m), mid in zip(todo, ids, strict=True)
                    if (policy := accepts[i].policy) is not None
                ],
            )
            keyed = [(accepts[i], m) for i, m in todo if accepts[i].idempotency is not None]
            if keyed:
                conn.execute(
                    idempotency_keys.insert(),
                    [
                        {
                            "org_id": m.org_id,
                            "key": job.idempotency.key,
                            "request_hash": job.idempotency.request_hash,
                            "status_code": 200,
                            "response": job.idempotency.answer,
                            "created_at": m.created_at,
                        }
                        for job, m in keyed
                        if job.idempotency is not None
                    ],
                )
            for i, _ in todo:
                results[i] = AcceptResult(AcceptOutcome.ACCEPTED)
        return results


def insert_outbound(conn: Connection, new: Sequence[NewMessage]) -> list[int]:
    """Write outbound messages, their `accepted` status and their outbox rows; returns their ids in order.

    The one way a message enters the outbox: the send API and wagate's own replies (an opt-out's
    confirmation, say) both come through here, inside the caller's transaction.
    """
    if not new:
        return []
    ids = _insert_messages(conn, [_message_row(conn, m) for m in new])
    insert_rows(
        conn,
        message_statuses,
        [
            {"message_id": mid, "status": "accepted", "at": m.created_at}
            for mid, m in zip(ids, new, strict=True)
        ],
    )
    insert_rows(
        conn,
        outbox,
        [
            {
                "message_id": mid,
                "phone_number_id": m.phone_number_id,
                "priority": m.priority,
                "due_at": m.created_at,
                "expires_at": m.expires_at,
                "attempts": 0,
                "reconciling": 0,
            }
            for mid, m in zip(ids, new, strict=True)
        ],
    )
    _answered(conn, [m for m in new if m.template_name is None])
    announce(conn, (m.phone_number_id for m in new))
    return ids


_KEYS = select(
    idempotency_keys.c.org_id,
    idempotency_keys.c.key,
    idempotency_keys.c.request_hash,
    idempotency_keys.c.response,
    idempotency_keys.c.created_at,
).where(idempotency_keys.c.org_id.in_(many("orgs")), idempotency_keys.c.key.in_(many("keys")))
_FORGET_KEY = delete(idempotency_keys).where(
    idempotency_keys.c.org_id == bindparam("org_id"), idempotency_keys.c.key == bindparam("key")
)


def _check_keys(conn: Connection, jobs: list[AcceptMessage], results: list[AcceptResult | None]) -> None:
    """Resolve idempotency keys already stored, and repeats of one key inside this batch."""
    keyed = [(i, job) for i, job in enumerate(jobs) if job.idempotency is not None]
    if not keyed:
        return
    wanted = {(job.message.org_id, job.idempotency.key) for _, job in keyed if job.idempotency is not None}
    rows = conn.execute(
        _KEYS, {"orgs": list({o for o, _ in wanted}), "keys": list({k for _, k in wanted})}
    ).all()
    known: dict[tuple[int, str], tuple[str, bytes]] = {}
    expired: list[tuple[int, str]] = []
    oldest_valid = keyed[0][1].message.created_at - keyed[0][1].idempotency_ttl
    for row in rows:
        if row.created_at < oldest_valid:
            expired.append((row.org_id, row.key))
        else:
            known[(row.org_id, row.key)] = (row.request_hash, bytes(row.response))
    if expired:
        for org_id, key in expired:
            conn.execute(_FORGET_KEY, {"org_id": org_id, "key": key})
    for i, job in keyed:
        idem = job.idempotency
        assert idem is not None
        scope = (job.message.org_id, idem.key)
        seen = known.get(scope)
        if seen is None:
            known[scope] = (idem.request_hash, idem.answer)
            continue
        request_hash, answer = seen
        if request_hash == idem.request_hash:
            results[i] = AcceptResult(AcceptOutcome.REPLAYED, answer)
        else:
            results[i] = AcceptResult(AcceptOutcome.CONFLICT)


_LAST_ID = select(func.max(messages.c.id))


def _insert_messages(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert message rows and return their ids, in order.

    On SQLite the writer holds the database's write lock (BEGIN IMMEDIATE), so the ids can be taken
    after the highest one and the rows inserted with a plain executemany, much cheaper than a
    multi-row INSERT ... RETURNING built in Python. Elsewhere, RETURNING.
    """
    if conn.dialect.name == "sqlite":
        first = int(conn.execute(_LAST_ID).scalar() or 0) + 1
        ids = list(range(first, first + len(rows)))
        insert_rows(conn, messages, [{"id": mid, **row} for row, mid in zip(rows, ids, strict=True)])
        return ids
    result = conn.execute(messages.insert().returning(messages.c.id, sort_by_parameter_order=True), rows)
    return [int(row[0]) for row in result]


_ANSWERED = text(
    "UPDATE conversations SET state = :target, waiting_since = NULL, last_message_at = :at, "
    "updated_at = :at WHERE phone_number_id = :number AND wa_id = :wa_id AND state = :source"
)


def _answered(conn: Connection, replies: list[NewMessage]) -> None:
    """A free-form reply from the business takes its conversation out of the queue
    (`domain/conversations.BUSINESS_ANSWERED`)."""
    move = BUSINESS_ANSWERED
    assert not move.keeps_waiting  # the statement clears waiting_since
    if replies:
        conn.execute(
            _ANSWERED,
            [
                {
                    "at": m.created_at,
                    "number": m.phone_number_id,
                    "wa_id": m.wa_id,
                    "source": move.source.value,
                    "target": move.target.value,
                }
                for m in replies
            ],
        )


@dataclass(slots=True)
class MarkRead(Job[int]):
    """The business read a customer's message: it and every earlier one in the thread are read."""

    number_id: int
    wa_id: str
    until: float
    now: float

    def run(self, conn: Connection) -> int:
        result = conn.execute(
            update(messages)
            .where(
                messages.c.phone_number_id == self.number_id,
                messages.c.wa_id == self.wa_id,
                messages.c.direction == "in",
                messages.c.status == "received",
                messages.c.created_at <= self.until,
            )
            .values(status="read", updated_at=self.now)
        )
        return int(result.rowcount)


def inbound_message(conn: Connection, org_id: int, number_id: int, wamid: str) -> Any:
    """(upstream_id, wa_id, created_at) of a message a customer sent to the number, or None."""
    return conn.execute(
        select(messages.c.upstream_id, messages.c.wa_id, messages.c.created_at).where(
            messages.c.org_id == org_id,
            messages.c.phone_number_id == number_id,
            messages.c.wamid == wamid,
            messages.c.direction == "in",
        )
    ).first()


def _message_row(conn: Connection, m: NewMessage) -> dict[str, Any]:
    return {
        "wamid": m.wamid,
        "org_id": m.org_id,
        "phone_number_id": m.phone_number_id,
        "direction": "out",
        "wa_id": m.wa_id,
        "recipient_input": m.recipient_input,
        "type": m.type,
        "content": sealed.seal(conn, messages.c.content, m.content),
        "search_index": index_of_message(conn, "out", m.type, m.content, m.category),
        "status": "accepted",
        "priority": m.priority,
        "category": m.category,
        "template_name": m.template_name,
        "callback_data": m.callback_data,
        "context_wamid": m.context_wamid,
        "created_at": m.created_at,
        "updated_at": m.created_at,
    }


# -- claiming ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Claimed:
    message_id: int
    priority: int
    attempts: int
    expires_at: float
    reconciling: bool
    wamid: str
    wa_id: str
    type: str
    content: str
    callback_data: str | None
    context_wamid: str | None
    context_upstream_id: str | None
    context_pending: bool  # the message replied or reacted to has not reached the upstream yet
    category: str | None
    created_at: float
    last_error_code: int | None = None
    last_error_title: str | None = None
    # For the checks that time can change while a message waits (docs/policy.md): when the customer
    # last wrote (free-form messages only), and whether they opted out of marketing (marketing only).
    last_inbound_at: float | None = None
    marketing_opted_out: bool = False
    # Templates only: (name, language, the template's status now; None when it no longer exists).
    template: tuple[str, str, str | None] | None = None
    lease_until: float = 0.0  # when the claim ends; an outcome not recorded by then is in doubt


_CLAIM = """
    UPDATE outbox SET lease_until = :lease_until, in_flight_since = :now, attempts = attempts + 1
    WHERE message_id IN (
        SELECT message_id FROM outbox
        WHERE phone_number_id = :number AND lease_until IS NULL AND due_at <= :now
        ORDER BY priority, due_at
        LIMIT :limit{lock}
    )
    RETURNING message_id, priority, attempts, expires_at, reconciling, last_error_code, last_error_title
    """
# SQLite has one writer, so a claim never meets another. On PostgreSQL several workers claim at once:
# each skips the rows another is claiming instead of waiting for its commit and then finding them taken.
_CLAIM_BY_DIALECT = {
    "sqlite": text(_CLAIM.format(lock="")),
    "postgresql": text(_CLAIM.format(lock="\n        FOR UPDATE SKIP LOCKED")),
}


@dataclass(slots=True)
class ClaimDue(Job[list[Claimed]]):
    """Lease up to `limit` due messages of one number, most urgent class first, oldest first."""

    number_id: int
    now: float
    lease_until: float
    limit: int

    def run(self, conn: Connection) -> list[Claimed]:
        rows = conn.execute(
            _CLAIM_BY_DIALECT[conn.dialect.name],
            {"lease_until": self.lease_until, "now": self.now, "number": self.number_id, "limit": self.limit},
        ).all()
        if not rows:
            return []
        by_id = {row.message_id: row for row in rows}
        details = conn.execute(
            select(
                messages.c.id,
                messages.c.wamid,
                messages.c.wa_id,
                messages.c.type,
                messages.c.content,
                messages.c.callback_data,
                messages.c.context_wamid,
                messages.c.category,
                messages.c.created_at,
                messages.c.org_id,
            ).where(messages.c.id.in_(list(by_id)))
        ).all()
        windows = windows_of(conn, self.number_id, {d.wa_id for d in details if d.type != "template"})
        statuses = template_statuses(conn, self.number_id, [d for d in details if d.type == "template"])
        opted_out = opted_out_of_marketing(conn, [d for d in details if d.category == "MARKETING"])
        contexts = {d.context_wamid for d in details if d.context_wamid}
        context_ids: dict[str, tuple[str | None, str, str]] = {}
        if contexts:
            for ctx in conn.execute(
                select(
                    messages.c.wamid, messages.c.upstream_id, messages.c.direction, messages.c.status
                ).where(messages.c.wamid.in_(list(contexts)))
            ):
                context_ids[ctx.wamid] = (ctx.upstream_id, ctx.direction, ctx.status)
        claimed = []
        for d in details:
            row = by_id[d.id]
            upstream_id: str | None = None
            pending = False
            if d.context_wamid:
                found = context_ids.get(d.context_wamid)
                if found is not None:
                    upstream_id = found[0]
                    pending = upstream_id is None and found[2] != "failed"
            claimed.append(
                Claimed(
                    d.id,
                    row.priority,
                    row.attempts,
                    row.expires_at,
                    bool(row.reconciling),
                    d.wamid,
                    d.wa_id,
                    d.type,
                    sealed.open_(conn, messages.c.content, d.content),
                    d.callback_data,
                    d.context_wamid,
                    upstream_id,
                    pending,
                    d.category,
                    d.created_at,
                    row.last_error_code,
                    row.last_error_title,
                    windows.get(d.wa_id),
                    (d.org_id, d.wa_id) in opted_out,
                    statuses.get(d.id),
                    self.lease_until,
                )
            )
        claimed.sort(key=lambda c: (c.priority, c.created_at))
        return claimed


@dataclass(slots=True)
class RecoverInDoubt(Job[int]):
    """Rows whose lease ended while a send was in flight: the outcome is unknown.

    They wait the reconciliation window, counted from the end of the lease, for a status from the
    upstream before being sent again. Until then the lane that sent one may still record its outcome:
    it keeps trying while the database is away (a restart), and stops before the window ends.
    """

    now: float
    window: float

    def run(self, conn: Connection) -> int:
        result = conn.execute(
            update(outbox)
            .where(outbox.c.lease_until < self.now, outbox.c.in_flight_since.is_not(None))
            .values(
                due_at=outbox.c.lease_until + self.window,
                lease_until=None,
                in_flight_since=None,
                reconciling=1,
            )
        )
        return int(result.rowcount)


@dataclass(slots=True)
class ReleaseClaims(Job[int]):
    """Give claimed rows that were never sent back to the queue (clean shutdown)."""

    message_ids: list[int]

    def run(self, conn: Connection) -> int:
        if not self.message_ids:
            return 0
        result = conn.execute(
            update(outbox)
            .where(outbox.c.message_id.in_(self.message_ids))
            .values(lease_until=None, in_flight_since=None, attempts=outbox.c.attempts - 1)
        )
        return int(result.rowcount)


# -- outcomes ---------------------------------------------------------------------------------------
class OutcomeKind(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    IN_DOUBT = "in_doubt"
    FAILED = "failed"


@dataclass(slots=True)
class SendOutcome(BatchJob[None]):
    kind: OutcomeKind
    message_id: int
    now: float
    upstream_id: str | None = None
    due_at: float | None = None
    error_code: int | None = None
    error_title: str | None = None
    error_details: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def run_batch(cls, conn: Connection, jobs: Sequence[Job[Any]]) -> list[Any]:
        outcomes = [job for job in jobs if isinstance(job, SendOutcome)]
        sent = [o for o in outcomes if o.kind == OutcomeKind.SENT]
        retry = [o for o in outcomes if o.kind in (OutcomeKind.RETRY, OutcomeKind.IN_DOUBT)]
        failed = [o for o in outcomes if o.kind == OutcomeKind.FAILED]
        if sent:
            # COALESCE: if a status already told us the upstream id (reconciliation), keep it.
            conn.execute(
                text(
                    "UPDATE messages SET upstream_id = COALESCE(upstream_id, :upstream_id), "
                    "updated_at = :now WHERE id = :message_id"
                ),
                [{"upstream_id": o.upstream_id, "now": o.now, "message_id": o.message_id} for o in sent],
            )
        redacted = [o for o in sent if "redacted_content" in o.extra]
        if redacted:
            conn.execute(
                text("UPDATE messages SET content = :content WHERE id = :message_id"),
                [
                    {
                        "content": sealed.seal(conn, messages.c.content, o.extra["redacted_content"]),
                        "message_id": o.message_id,
                    }
                    for o in redacted
                ],
            )
        if retry:
            conn.execute(
                text(
                    "UPDATE outbox SET due_at = :due_at, lease_until = NULL, in_flight_since = NULL, "
                    "reconciling = :reconciling, last_error_code = :code, last_error_title = :title "
                    "WHERE message_id = :message_id"
                ),
                [
                    {
                        "due_at": o.due_at,
                        "reconciling": int(o.kind == OutcomeKind.IN_DOUBT),
                        "code": o.error_code,
                        "title": o.error_title,
                        "message_id": o.message_id,
                    }
                    for o in retry
                ],
            )
        if failed:
            record_failures(
                conn,
                [
                    (o.message_id, o.now, o.error_code or 131000, o.error_title or "", o.error_details or "")
                    for o in failed
                ],
            )
        done = [o.message_id for o in sent] + [o.message_id for o in failed]
        if done:
            conn.execute(delete(outbox).where(outbox.c.message_id.in_(done)))
        return [None] * len(outcomes)


def record_failures(conn: Connection, failures: list[tuple[int, float, int, str, str]]) -> None:
    """End messages as failed with Meta's code, recorded in the history like any other status.

    A failed message no longer holds a place in the messaging tier nor counts against the marketing cap.
    """
    failed_ids = [f[0] for f in failures]
    conn.execute(delete(tier_reservations).where(tier_reservations.c.message_id.in_(failed_ids)))
    conn.execute(delete(marketing_sends).where(marketing_sends.c.message_id.in_(failed_ids)))
    conn.execute(
        text(
            "UPDATE messages SET status = 'failed', error_code = :code, error_title = :title, "
            "error_details = :details, updated_at = :now "
            "WHERE id = :message_id AND status IN ('accepted', 'sent')"
        ),
        [
            {"code": c, "title": t, "details": d, "now": now, "message_id": mid}
            for mid, now, c, t, d in failures
        ],
    )
    conn.execute(
        insert_ignore(conn, message_statuses),
        [
            {
                "message_id": mid,
                "status": "failed",
                "at": now,
                "error_code": c,
                "error_title": t,
                "error_details": d,
            }
            for mid, now, c, t, d in failures
        ],
    )
    # The business hears of a failure after its 2xx like of any other status.
    rows = conn.execute(
        select(
            messages.c.id,
            messages.c.org_id,
            messages.c.phone_number_id,
            messages.c.wamid,
            messages.c.wa_id,
            messages.c.callback_data,
        ).where(messages.c.id.in_([f[0] for f in failures]))
    ).all()
    numbers = numbers_by_id(conn, {row.phone_number_id for row in rows})
    by_id = {f[0]: f for f in failures}
    changes = []
    for row in rows:
        _, now, code, title, details = by_id[row.id]
        changes.append(
            StatusChange(
                row.org_id,
                numbers[row.phone_number_id],
                row.wamid,
                row.wa_id,
                "failed",
                now,
                row.callback_data,
                {"code": code, "title": title, "details": details},
            )
        )
    if changes:
        record_events(conn, status_events(conn, changes, changes[0].timestamp))


# -- reads ------------------------------------------------------------------------------------------
def load_message(conn: Connection, org_id: int, wamid: str) -> dict[str, Any] | None:
    row = (
        conn.execute(select(messages).where(messages.c.org_id == org_id, messages.c.wamid == wamid))
        .mappings()
        .first()
    )
    if row is None:
        return None
    message = dict(row)
    message["content"] = sealed.open_(conn, messages.c.content, message["content"])
    history = (
        conn.execute(
            select(
                message_statuses.c.status,
                message_statuses.c.at,
                message_statuses.c.error_code,
                message_statuses.c.error_title,
                message_statuses.c.error_details,
            )
            .where(message_statuses.c.message_id == row["id"])
            .order_by(message_statuses.c.at, message_statuses.c.id)
        )
        .mappings()
        .all()
    )
    attempts = (
        conn.execute(
            select(
                outbox.c.attempts, outbox.c.due_at, outbox.c.last_error_code, outbox.c.last_error_title
            ).where(outbox.c.message_id == row["id"])
        )
        .mappings()
        .first()
    )
    return {
        "message": message,
        "history": [dict(h) for h in history],
        "outbox": dict(attempts) if attempts else None,
    }


def message_exists(conn: Connection, org_id: int, wamid: str) -> tuple[str, str] | None:
    """(direction, status) of a message of the organization, or None."""
    row = conn.execute(
        select(messages.c.direction, messages.c.status).where(
            messages.c.org_id == org_id, messages.c.wamid == wamid
        )
    ).first()
    return None if row is None else (row.direction, row.status)


def outbox_depths(conn: Connection) -> list[tuple[int, int, int]]:
    """(phone number id, priority class, messages waiting) for the metrics."""
    rows = conn.execute(
        text("SELECT phone_number_id, priority, COUNT(*) FROM outbox GROUP BY phone_number_id, priority")
    ).all()
    return [(int(r[0]), int(r[1]), int(r[2])) for r in rows]
