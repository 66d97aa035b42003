"""Consent: a contact's record per purpose, explained; recording a consent the business collected."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from wagate.domain.access import Actor
from wagate.domain.consent import (
    ACTIONS,
    PURPOSES,
    ConsentRecord,
    consent_verdict,
    current_consents,
)
from wagate.domain.policy_settings import PolicySettings
from wagate.domain.tenancy import Organization
from wagate.errors import ApiError
from wagate.services.contacts import access_contact
from wagate.services.policy import explain_policy
from wagate.services.runtime import Runtime
from wagate.store import consent as store
from wagate.store.audit import Entry, WithAudit

MAX_SOURCE = 30
MAX_PROOF = 2000
_STATES = {"opt_in": "opted_in", "opt_out": "opted_out"}


class ConsentInput(msgspec.Struct, forbid_unknown_fields=True):
    """`POST /api/v1/contacts/{id}/consent`."""

    purpose: str
    action: str
    source: str = "api"
    proof: str | None = None
    at: float | None = None  # unix seconds; now when absent


def consent_problems(
    purpose: str, action: str, source: str, proof: str | None, at: float, now: float
) -> list[str]:
    """What is wrong with a consent to record, as messages; empty when it may be recorded."""
    problems = []
    if purpose not in PURPOSES:
        problems.append(f"purpose must be one of {', '.join(PURPOSES)}")
    if action not in ACTIONS:
        problems.append(f"action must be one of {', '.join(ACTIONS)}")
    if not source.strip() or len(source) > MAX_SOURCE:
        problems.append(f"source must be 1 to {MAX_SOURCE} characters")
    if proof is not None and len(proof) > MAX_PROOF:
        problems.append(f"proof must be at most {MAX_PROOF} characters")
    if not 0 < at <= now:
        problems.append("at must be a time in the past (unix seconds), not in the future")
    return problems


def explain_consent(latest: Mapping[str, ConsentRecord], policy: PolicySettings) -> dict[str, dict[str, Any]]:
    """Per purpose: the contact's state, its current record, and whether consent allows a business-initiated
    message of that purpose, with the reasons in plain words (`latest` is keyed by purpose).

    Only the consent part of the decision: callers may append their own lines to `reasons` (the window,
    the frequency cap, the messaging tier) and clear `allowed`.
    """
    out: dict[str, dict[str, Any]] = {}
    for purpose in PURPOSES:
        record = latest.get(purpose)
        verdict = consent_verdict(purpose, record, consent_required_for_all=policy.consent_required_for_all)
        out[purpose] = {
            "state": "none" if record is None else _STATES[record.action],
            "since": None if record is None else record.at,
            "record": None if record is None else store.present_record(record),
            "allowed": verdict.allowed,
            "reasons": [verdict.reason],
            "refusal_code": verdict.code,
        }
    return out


async def contact_consent(rt: Runtime, org: Organization, raw_id: str) -> dict[str, Any]:
    """`GET /api/v1/contacts/{id}/consent`: the explanation per purpose and every record, oldest first."""
    contact = await access_contact(rt, org, raw_id)
    wa_id = contact["wa_id"]
    history, policy = await rt.db.read(
        lambda conn: (store.consent_history(conn, org.id, wa_id), store.load_policy(conn, org.id))
    )
    purposes = explain_consent(current_consents(history), policy)
    checks = await explain_policy(rt, org, wa_id, purposes)
    return {
        "contact": {"id": contact["id"], "wa_id": wa_id},
        "purposes": purposes,
        "policy": checks,
        "history": [store.present_record(r) for r in history],
    }


async def do_record_consent(
    rt: Runtime, org: Organization, raw_id: str, body: bytes, by: Actor
) -> dict[str, Any]:
    contact = await access_contact(rt, org, raw_id)
    try:
        given = msgspec.json.decode(body, type=ConsentInput)
    except msgspec.DecodeError as exc:
        raise ApiError("invalid_request", str(exc)) from exc
    now = rt.clock.now()
    at = now if given.at is None else given.at
    problems = consent_problems(given.purpose, given.action, given.source, given.proof, at, now)
    if problems:
        raise ApiError("invalid_request", "; ".join(problems), problems=problems)
    new = store.NewConsent(
        org.id, contact["wa_id"], given.purpose, given.action, given.source.strip(), given.proof, None, at
    )
    detail = {"purpose": given.purpose, "action": given.action, "source": new.source}
    entry = Entry("consent.record", "contact", contact["id"], detail)
    records = await rt.db.write(WithAudit(store.RecordConsents([new], now), org.id, by, now, lambda _: entry))
    return store.present_record(records[0])
