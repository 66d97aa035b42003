"""The policy of sends, applied in the transaction that accepts them (docs/policy.md).

What the request could not know is read here, for the whole batch at once: the customers' windows and
their latest consents. The messaging tier and the marketing frequency cap are counted here too, in the
order of the batch, so a send that passes holds its place for the sends after it and concurrent
requests cannot overshoot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import Connection, bindparam, func, select

from wagate.domain.policy import DAY, WEEK, Counts, Decision, PolicyInput, SendFacts, decide_send
from wagate.domain.sending import NewMessage
from wagate.errors import GraphError
from wagate.store import sealed
from wagate.store.consent import latest_consents
from wagate.store.schema import (
    consents,
    marketing_sends,
    messages,
    phone_numbers,
    service_windows,
    templates,
    tier_reservations,
)
from wagate.store.sql import insert_rows, many, rows_in

_WINDOWS = select(service_windows.c.wa_id, service_windows.c.last_inbound_at).where(
    service_windows.c.phone_number_id == bindparam("number"), service_windows.c.wa_id.in_(many("wa_ids"))
)
TIER_USED = select(func.count(func.distinct(tier_reservations.c.wa_id))).where(
    tier_reservations.c.org_id == bindparam("org_id"), tier_reservations.c.at > bindparam("since")
)
TIER_HELD = select(tier_reservations.c.wa_id).where(
    tier_reservations.c.org_id == bindparam("org_id"),
    tier_reservations.c.wa_id.in_(many("wa_ids")),
    tier_reservations.c.at > bindparam("since"),
)
MARKETING_SENT = select(marketing_sends.c.wa_id, marketing_sends.c.at).where(
    marketing_sends.c.org_id == bindparam("org_id"),
    marketing_sends.c.wa_id.in_(many("wa_ids")),
    marketing_sends.c.at > bindparam("since"),
)


_WINDOWS_RAW = (
    "SELECT wa_id, last_inbound_at FROM service_windows WHERE phone_number_id = ? AND wa_id IN ({in})"
)
_CONSENTS = select(
    consents.c.wa_id, consents.c.purpose, consents.c.action, consents.c.at, consents.c.id
).where(consents.c.org_id == bindparam("org_id"), consents.c.wa_id.in_(many("wa_ids")))
_CONSENTS_RAW = "SELECT wa_id, purpose, action, at, id FROM consents WHERE org_id = ? AND wa_id IN ({in})"


def windows_of(conn: Connection, number_id: int, wa_ids: set[str]) -> dict[str, float]:
    """When each customer last wrote to the number (customers who never did are absent)."""
    params = {"number": number_id, "wa_ids": list(wa_ids)}
    rows = rows_in(conn, _WINDOWS, params, _WINDOWS_RAW, (number_id,), "wa_ids")
    return {wa_id: float(at) for wa_id, at in rows}


@dataclass(slots=True)
class Decisions:
    """Per send of the batch (by index): its refusal, or whether it is business-initiated."""

    refused: dict[int, GraphError]
    initiated: dict[int, bool]


def decide(conn: Connection, sends: Sequence[tuple[int, NewMessage, PolicyInput]]) -> Decisions:
    """Gather what the policy needs for the batch and let `domain.policy.decide_send` decide each send;
    the tier and the cap are counted only for the sends that need them, in the batch's order."""
    decisions = Decisions({}, {})
    if not sends:
        return decisions
    windows = _windows(conn, sends)
    consents = _consents(conn, sends)
    to_count: list[tuple[int, NewMessage, PolicyInput, SendFacts, Decision]] = []
    for index, message, policy in sends:
        facts = SendFacts(
            message.wa_id,
            policy.category,
            windows.get((message.phone_number_id, message.wa_id)),
            consents.get((message.org_id, message.wa_id, policy.purpose or "")),
        )
        verdict = decide_send(facts, policy, message.created_at)
        if isinstance(verdict, GraphError):
            decisions.refused[index] = verdict
        elif verdict.needs_counts:
            to_count.append((index, message, policy, facts, verdict))
        else:
            decisions.initiated[index] = verdict.business_initiated
    _count_limits(conn, to_count, decisions)
    return decisions


def _windows(
    conn: Connection, sends: Sequence[tuple[int, NewMessage, PolicyInput]]
) -> dict[tuple[int, str], float]:
    by_number: dict[int, set[str]] = {}
    for _, message, _ in sends:
        by_number.setdefault(message.phone_number_id, set()).add(message.wa_id)
    found: dict[tuple[int, str], float] = {}
    for number_id, wa_ids in by_number.items():
        for wa_id, at in windows_of(conn, number_id, wa_ids).items():
            found[(number_id, wa_id)] = at
    return found


def _consents(
    conn: Connection, sends: Sequence[tuple[int, NewMessage, PolicyInput]]
) -> dict[tuple[int, str, str], str]:
    """(org, wa_id, purpose) → the latest action, for the templates of the batch."""
    by_org: dict[int, set[str]] = {}
    for _, message, policy in sends:
        if policy.category is not None:
            by_org.setdefault(message.org_id, set()).add(message.wa_id)
    found: dict[tuple[int, str, str], str] = {}
    for org_id, wa_ids in by_org.items():
        params = {"org_id": org_id, "wa_ids": list(wa_ids)}
        latest: dict[tuple[str, str], tuple[float, int]] = {}
        # The latest record per contact and purpose decides (ties: the later recorded), as in the ledger.
        for wa_id, purpose, action, at, record_id in rows_in(
            conn, _CONSENTS, params, _CONSENTS_RAW, (org_id,), "wa_ids"
        ):
            key = (wa_id, purpose)
            if key not in latest or (at, record_id) > latest[key]:
                latest[key] = (at, record_id)
                found[(org_id, wa_id, purpose)] = action
    return found


def _count_limits(
    conn: Connection,
    sends: Sequence[tuple[int, NewMessage, PolicyInput, SendFacts, Decision]],
    decisions: Decisions,
) -> None:
    """Read the tier and the cap once per organization, then decide each send with them as they stand
    after the sends before it in the batch."""
    by_org: dict[int, list[tuple[int, NewMessage, PolicyInput, SendFacts, Decision]]] = {}
    for send in sends:
        by_org.setdefault(send[1].org_id, []).append(send)
    for org_id, group in by_org.items():
        now = max(send[1].created_at for send in group)
        wa_ids = list({send[1].wa_id for send in group})
        used, held = 0, set()
        if any(first.tier_counted for *_, first in group):
            used = int(conn.execute(TIER_USED, {"org_id": org_id, "since": now - DAY}).scalar() or 0)
            params = {"org_id": org_id, "wa_ids": wa_ids, "since": now - DAY}
            held = set(conn.execute(TIER_HELD, params).scalars())
        marketing: dict[str, list[float]] = {}
        if any(first.marketing_counted for *_, first in group):
            params = {"org_id": org_id, "wa_ids": wa_ids, "since": now - WEEK}
            for wa_id, at in conn.execute(MARKETING_SENT, params):
                marketing.setdefault(wa_id, []).append(float(at))
        for index, message, policy, facts, _ in group:
            wa_id, at = message.wa_id, message.created_at
            sent = marketing.get(wa_id, ())
            counts = Counts(
                tier_used=used,
                tier_held=wa_id in held,
                marketing_day=sum(1 for t in sent if t > at - DAY),
                marketing_week=sum(1 for t in sent if t > at - WEEK),
            )
            verdict = decide_send(msgspec.structs.replace(facts, counts=counts), policy, at)
            if isinstance(verdict, GraphError):
                decisions.refused[index] = verdict
                continue
            decisions.initiated[index] = verdict.business_initiated
            if verdict.takes_tier_place:
                held.add(wa_id)
                used += 1
            if verdict.marketing_counted:
                marketing.setdefault(wa_id, []).append(at)


def count_sends(conn: Connection, accepted: Sequence[tuple[int, NewMessage, PolicyInput, bool]]) -> None:
    """The rows that make accepted sends count: a place in the tier (business-initiated sends), a
    marketing send of the contact. `accepted` is (message id, message, policy, business-initiated)."""
    tier = [
        {"message_id": mid, "org_id": m.org_id, "wa_id": m.wa_id, "at": m.created_at}
        for mid, m, p, initiated in accepted
        if initiated and p.tier_limit is not None
    ]
    if tier:
        insert_rows(conn, tier_reservations, tier)
    sends = [
        {"message_id": mid, "org_id": m.org_id, "wa_id": m.wa_id, "at": m.created_at}
        for mid, m, p, _ in accepted
        if p.marketing
    ]
    if sends:
        insert_rows(conn, marketing_sends, sends)


# -- at dispatch: what time may have changed while a message waited -------------------------------
_template_decoder = msgspec.json.Decoder(dict[str, Any])


def template_statuses(
    conn: Connection, number_id: int, details: Sequence[Any]
) -> dict[int, tuple[str, str, str | None]]:
    """message id → (template name, language, the template's status now; None when it is gone)."""
    if not details:
        return {}
    wanted: dict[int, tuple[str, str]] = {}
    for d in details:
        content = _template_decoder.decode(sealed.open_(conn, messages.c.content, d.content))
        language = content.get("language")
        code = language.get("code") if isinstance(language, dict) else None
        wanted[d.id] = (str(content.get("name", "")), str(code or ""))
    rows = conn.execute(
        select(templates.c.name, templates.c.language, templates.c.status)
        .join(phone_numbers, phone_numbers.c.waba_id == templates.c.waba_id)
        .where(
            phone_numbers.c.id == number_id,
            templates.c.name.in_(list({name for name, _ in wanted.values()})),
        )
    ).all()
    status = {(row.name, row.language): str(row.status) for row in rows}
    return {mid: (name, language, status.get((name, language))) for mid, (name, language) in wanted.items()}


def opted_out_of_marketing(conn: Connection, details: Sequence[Any]) -> set[tuple[int, str]]:
    by_org: dict[int, set[str]] = {}
    for d in details:
        by_org.setdefault(int(d.org_id), set()).add(d.wa_id)
    out: set[tuple[int, str]] = set()
    for org_id, wa_ids in by_org.items():
        latest = latest_consents(conn, org_id, list(wa_ids))
        for wa_id in wa_ids:
            record = latest.get((wa_id, "marketing"))
            if record is not None and record.action == "opt_out":
                out.add((org_id, wa_id))
    return out
