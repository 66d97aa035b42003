"""Applying what Meta reports besides messages: templates, preferences, the account and its numbers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from wagate.domain.policy import TIER_LIMITS
from wagate.store.consent import NewConsent, consent_events, insert_consents
from wagate.store.events import NewEvent, record_events
from wagate.store.schema import business_accounts, contact_preferences, organizations, templates
from wagate.store.sql import insert_ignore

log = logging.getLogger(__name__)

_EVENT_TYPES = {
    "message_template_status_update": "template.status",
    "message_template_quality_update": "template.quality",
    "template_category_update": "template.category",
    "user_preferences": "contact.preferences",
}
# Template statuses wagate keeps (Meta's webhook events also name transitions such as FLAGGED).
_TEMPLATE_STATUSES = frozenset(
    {
        "APPROVED",
        "PENDING",
        "REJECTED",
        "PAUSED",
        "DISABLED",
        "IN_APPEAL",
        "PENDING_DELETION",
        "DELETED",
        "ARCHIVED",
        "LIMIT_EXCEEDED",
    }
)

_QUALITY_SCORES = frozenset({"GREEN", "YELLOW", "RED", "UNKNOWN"})

_PREFERENCE_ACTIONS = {"stop": "opt_out", "resume": "opt_in"}
# Where Meta tells an account's messaging limit: the field, and the key of its value.
_TIER_FIELDS = {
    "phone_number_quality_update": "current_limit",
    "business_capability_update": "max_daily_conversations_per_business",
}


@dataclass(frozen=True, slots=True)
class AccountChange:
    waba_id: str
    field: str
    value: dict[str, Any]
    time: float | None


def apply_account_changes(conn: Connection, changes: list[AccountChange], now: float) -> None:
    if not changes:
        return
    owners = _owners(conn, {c.waba_id for c in changes})
    new_events = []
    for change in changes:
        try:
            waba_id = int(change.waba_id)
        except ValueError:
            waba_id = -1
        org_id = owners.get(waba_id)
        if org_id is None:
            log.warning(
                "ingest: kept a %s change for unknown business account %s in the raw event only",
                change.field,
                change.waba_id,
            )
            continue
        if change.field == "message_template_status_update":
            _template_status(conn, waba_id, change.value, now)
        elif change.field == "message_template_quality_update":
            _template_quality(conn, waba_id, change.value, now)
        elif change.field in _TIER_FIELDS:
            _messaging_tier(conn, org_id, change)
        elif change.field == "user_preferences":
            new_events.extend(_preferences(conn, org_id, waba_id, change, now))
            continue
        elif change.field not in _EVENT_TYPES:
            log.info("ingest: %s change recorded as account.update", change.field)
        kind = _EVENT_TYPES.get(change.field, "account.update")
        new_events.append(
            NewEvent(
                org_id,
                kind,
                {"field": change.field, "value": change.value},
                now,
                waba_id=waba_id,
                field=change.field,
                meta_value=change.value,
            )
        )
    record_events(conn, new_events)


def _messaging_tier(conn: Connection, org_id: int, change: AccountChange) -> None:
    """Meta's messaging limit for the account, now the organization's tier (wagate counts it per
    organization, as Meta does per business portfolio)."""
    tier = change.value.get(_TIER_FIELDS[change.field])
    if tier in TIER_LIMITS and tier != "TIER_NOT_SET":
        conn.execute(update(organizations).where(organizations.c.id == org_id).values(messaging_tier=tier))
        log.info("ingest: organization %d now has messaging tier %s", org_id, tier)


def _owners(conn: Connection, raw_ids: set[str]) -> dict[int, int]:
    ids = [int(r) for r in raw_ids if r.isdigit()]
    if not ids:
        return {}
    rows = conn.execute(
        select(business_accounts.c.id, business_accounts.c.org_id).where(business_accounts.c.id.in_(ids))
    )
    return {int(row.id): int(row.org_id) for row in rows}


def _template_status(conn: Connection, waba_id: int, value: dict[str, Any], now: float) -> None:
    status = str(value.get("event", "")).upper()
    template_id = value.get("message_template_id")
    if status not in _TEMPLATE_STATUSES or not isinstance(template_id, int | str):
        return
    conn.execute(
        update(templates)
        .where(templates.c.id == int(template_id), templates.c.waba_id == waba_id)
        .values(status=status, updated_at=now)
    )


def _template_quality(conn: Connection, waba_id: int, value: dict[str, Any], now: float) -> None:
    score = str(value.get("new_quality_score", "")).upper()
    template_id = value.get("message_template_id")
    if score not in _QUALITY_SCORES or not isinstance(template_id, int | str):
        return
    conn.execute(
        update(templates)
        .where(templates.c.id == int(template_id), templates.c.waba_id == waba_id)
        .values(quality_score=score, updated_at=now)
    )


def _preferences(
    conn: Connection, org_id: int, waba_id: int, change: AccountChange, now: float
) -> list[NewEvent]:
    """Marketing stop/resume from the customer, kept per contact, told, and entered in the consent ledger
    (once: Meta's retry of a preference already kept records nothing again)."""
    rows, out = [], []
    for preference in change.value.get("user_preferences") or ():
        if not isinstance(preference, dict) or not isinstance(preference.get("wa_id"), str):
            continue
        try:
            at = float(preference.get("timestamp", now))
        except (TypeError, ValueError):
            at = now
        row = {
            "org_id": org_id,
            "wa_id": preference["wa_id"],
            "category": str(preference.get("category", "marketing_messages")),
            "value": str(preference.get("value", "")),
            "detail": preference.get("detail"),
            "at": at,
        }
        rows.append(row)
        payload = {
            "field": change.field,
            "value": change.value,
            "wa_id": row["wa_id"],
            "category": row["category"],
            "preference": row["value"],
            "timestamp": at,
        }
        out.append(
            NewEvent(
                org_id,
                "contact.preferences",
                payload,
                now,
                waba_id=waba_id,
                field=change.field,
                meta_value={"messaging_product": "whatsapp", "user_preferences": [preference]},
            )
        )
    new_consents = []
    for row in rows:
        kept = conn.execute(insert_ignore(conn, contact_preferences), row).rowcount == 1
        action = _PREFERENCE_ACTIONS.get(row["value"])
        if kept and action is not None and row["category"] == "marketing_messages":
            new_consents.append(
                NewConsent(
                    org_id,
                    row["wa_id"],
                    "marketing",
                    action,
                    "user_preferences",
                    None if row["detail"] is None else str(row["detail"]),
                    None,
                    row["at"],
                )
            )
    # Each consent is told after the preference that carried it.
    return out + consent_events(insert_consents(conn, new_consents, now), now)
