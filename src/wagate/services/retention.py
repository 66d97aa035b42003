"""Retention: an organization's message and media periods, applying them, and what was deleted.

Messages (with their statuses, events and webhook deliveries) are kept forever unless the organization
sets a period; media are kept for the deployment's `media_retention` unless it sets its own. The consent
ledger is never deleted by retention (see docs/security.md).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from wagate.domain.access import CLI, Actor
from wagate.domain.tenancy import Organization
from wagate.errors import ApiError
from wagate.media.store import media_store
from wagate.services.runtime import Runtime
from wagate.store import retention as store
from wagate.store.db import Database
from wagate.store.management import Stamp

log = logging.getLogger(__name__)

MIN_DAYS = 1
MAX_DAYS = 3650
DAY = 86400.0
BATCH = 500
_change_decoder = msgspec.json.Decoder(dict[str, Any])
_FIELDS = {"message_retention_days": "message_days", "media_retention_days": "media_days"}


def check_days(value: object, field: str) -> int | None:
    """A period in whole days from 1 to 3650, or None (the default)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_DAYS <= value <= MAX_DAYS:
        raise ApiError(
            "invalid_request",
            f"{field} must be a whole number of days from {MIN_DAYS} to {MAX_DAYS}, or null",
            field=field,
        )
    return value


def present(rt: Runtime, periods: store.RetentionPeriods) -> dict[str, Any]:
    return {
        "message_retention_days": periods.message_days,
        "media_retention_days": periods.media_days,
        # What applies: null messages means kept forever.
        "effective": {
            "message_retention_days": periods.message_days,
            "media_retention_days": periods.media_days or rt.settings.media_retention / DAY,
        },
    }


async def get_retention(rt: Runtime, org: Organization) -> dict[str, Any]:
    return present(rt, await rt.db.read(lambda conn: store.load_periods(conn, org.id)))


async def do_change_retention(rt: Runtime, org: Organization, body: bytes, by: Actor) -> dict[str, Any]:
    """Change the given periods (null: back to the default); nothing changes unless all are valid."""
    try:
        change = _change_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise ApiError("invalid_request", f"the body must be a JSON object: {exc}") from exc
    unknown = sorted(set(change) - set(_FIELDS))
    if unknown:
        raise ApiError("invalid_request", f"unknown field {unknown[0]!r}", field=unknown[0])
    current = await rt.db.read(lambda conn: store.load_periods(conn, org.id))
    values = {attr: getattr(current, attr) for attr in _FIELDS.values()}
    for key, value in change.items():
        values[_FIELDS[key]] = check_days(value, key)
    periods = store.RetentionPeriods(**values)
    saved = await rt.db.write(store.SavePeriods(org.id, periods, Stamp(by, rt.clock.now())))
    return present(rt, saved)


def set_retention(
    db: Database, org_id: int, message_days: int | None, media_days: int | None, now: float
) -> store.RetentionPeriods:
    """The CLI's change: both periods at once, checked as the API checks them."""
    periods = store.RetentionPeriods(
        check_days(message_days, "message_retention_days"), check_days(media_days, "media_retention_days")
    )
    return db.write_now(store.SavePeriods(org_id, periods, Stamp(CLI, now)))


async def list_runs(rt: Runtime, org: Organization, limit: int, offset: int) -> list[dict[str, Any]]:
    return await rt.db.read(lambda conn: store.runs_of(conn, org.id, limit, offset))


async def list_erasures(rt: Runtime, org: Organization, limit: int, offset: int) -> list[dict[str, Any]]:
    return await rt.db.read(lambda conn: store.erasures_of(conn, org.id, limit, offset))


async def do_apply_retention(rt: Runtime) -> dict[int, dict[str, int]]:
    """Delete what is past every organization's periods, batch by batch; returns the counts of the
    organizations where something went."""
    now = rt.clock.now()
    everyone = await rt.db.read(store.all_periods)
    files = media_store(rt.settings, rt.db.keys)
    deleted: dict[int, dict[str, int]] = {}
    for org_id, periods in everyone.items():
        message_cutoff = None if periods.message_days is None else now - periods.message_days * DAY
        media_period = rt.settings.media_retention if periods.media_days is None else periods.media_days * DAY
        run_id: int | None = None
        totals = dict.fromkeys(store.COUNTED, 0)
        while True:
            result = await rt.db.write(
                store.PruneBatch(org_id, run_id, message_cutoff, now - media_period, now, BATCH)
            )
            run_id = result.run_id
            for key in result.storage_keys:
                if key:  # inbound media never downloaded has no file
                    await files.delete(key)
            for key, count in result.counts.items():
                totals[key] += count
            if not result.more:
                break
        if any(totals.values()):
            deleted[org_id] = totals
            log.info("retention: organization %d: deleted %s", org_id, totals)
    return deleted
