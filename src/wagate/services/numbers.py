"""Business numbers: added to an account, changed (rate, upstream, name) while their lanes run, and
refreshed from Meta (or the simulator) with their messaging limit, quality and review states."""

from __future__ import annotations

from typing import Any

import msgspec

from wagate.domain import numbers as rules
from wagate.domain.access import Actor
from wagate.domain.tenancy import DEFAULT_RATE, Organization, PhoneNumber, check_rate
from wagate.errors import ApiError, not_found
from wagate.ids import parse_id
from wagate.services import simulator_sync
from wagate.services.accounts import access_account, meta_refused
from wagate.services.organizations import decode, invalid
from wagate.services.runtime import Runtime
from wagate.services.upstreams import running_upstream
from wagate.store import numbers as store
from wagate.store.management import Stamp
from wagate.store.quality import rating_of
from wagate.store.tenancy import CreatePhoneNumber
from wagate.upstreams.base import UpstreamError


class NewNumber(msgspec.Struct, forbid_unknown_fields=True):
    waba_id: str | int
    display_phone_number: str
    meta_phone_number_id: str | int | None = None
    upstream: str | None = None
    rate: int = DEFAULT_RATE
    verified_name: str | None = None


class NumberChange(msgspec.Struct, forbid_unknown_fields=True):
    rate: int | None = None
    upstream: str | None = None
    verified_name: str | None = None


def present(row: store.NumberRow) -> dict[str, Any]:
    n = row.number
    return {
        "id": str(n.id),
        "waba_id": str(n.waba_id),
        "display_phone_number": n.display_phone_number,
        "region": n.region,
        "verified_name": n.verified_name,
        "upstream": n.upstream,
        "rate": n.rate,
        "messaging_tier": row.messaging_tier,
        "quality_rating": row.quality_rating,
        "name_status": row.name_status,
        "code_verification_status": row.code_verification_status,
        "platform_type": row.platform_type,
        "registered_at": row.registered_at,
        "created_at": row.created_at,
    }


def _checked(check: Any, value: Any, field: str) -> Any:
    try:
        return check(value)
    except ValueError as exc:
        raise invalid(exc, field) from None


def _meta_id(raw: str | int) -> int:
    text = str(raw).strip()
    if not text.isdigit() or not 0 < len(text) <= 18:
        raise ApiError(
            "invalid_request", "meta_phone_number_id must be Meta's numeric id", field="meta_phone_number_id"
        )
    return int(text)


async def do_add_number(rt: Runtime, org: Organization, body: bytes, by: Actor) -> dict[str, Any]:
    """A number of one of `org`'s accounts. An account at Meta takes only its numbers at Meta (with
    their Meta id, which becomes their id here); an account of wagate's own takes simulator numbers."""
    new: NewNumber = decode(body, NewNumber)
    account = await access_account(rt, org, str(new.waba_id))
    display, region = _checked(rules.check_display_number, new.display_phone_number, "display_phone_number")
    rate = _checked(check_rate, new.rate, "rate")
    upstream = _checked(
        rules.check_upstream, new.upstream or rules.default_upstream(account.at_meta), "upstream"
    )
    name = _checked(rules.check_name, new.verified_name or account.name, "verified_name")
    meta_id = None if new.meta_phone_number_id is None else _meta_id(new.meta_phone_number_id)
    if account.at_meta and meta_id is None:
        raise ApiError(
            "invalid_request",
            "a number of an account at Meta needs meta_phone_number_id",
            field="meta_phone_number_id",
        )
    if not account.at_meta and (meta_id is not None or rules.needs_meta(upstream)):
        field = "meta_phone_number_id" if meta_id is not None else "upstream"
        raise ApiError(
            "invalid_request",
            "this account is not at Meta (no meta_waba_id and token): its numbers use the simulator",
            field=field,
        )
    now = rt.clock.now()
    create = CreatePhoneNumber(
        org.id, account.id, display, region, name, upstream, rate, now, graph_id=meta_id
    )
    number = await rt.db.write(store.AddNumber(create, Stamp(by, now)))
    if number is None:
        raise ApiError("number_exists", f"phone number {meta_id} is already in wagate", http_status=409)
    await simulator_sync.number_added(rt, account.id)
    return present(await _load(rt, org, number.id))


async def list_numbers(rt: Runtime, org: Organization) -> list[dict[str, Any]]:
    return [present(row) for row in await rt.db.read(lambda conn: store.number_rows_of(conn, org.id))]


async def _load(rt: Runtime, org: Organization, number_id: int) -> store.NumberRow:
    found = await rt.db.read(lambda conn: store.number_row(conn, org.id, number_id))
    if found is None:
        raise not_found(f"phone number {number_id}")
    return found


async def access_number(rt: Runtime, org: Organization, raw_id: str) -> store.NumberRow:
    """A number of `org`; another organization's answers not found, as one that does not exist."""
    number_id = parse_id(raw_id)
    if number_id is None:
        raise not_found(f"phone number {raw_id}")
    return await _load(rt, org, number_id)


async def owner_of(rt: Runtime, raw_id: str) -> Organization:
    """The organization of a number, for the operator (the CLI), who acts for every organization."""
    number_id = parse_id(raw_id)
    if number_id is None:
        raise not_found(f"phone number {raw_id}")
    org = await rt.db.read(lambda conn: store.owner_of(conn, number_id))
    if org is None:
        raise not_found(f"phone number {raw_id}")
    return org


async def do_change_number(
    rt: Runtime, org: Organization, raw_id: str, body: bytes, by: Actor
) -> dict[str, Any]:
    """Change a number's rate, upstream or name. Running lanes follow within their next look at the
    numbers (2 s): a new rate paces the next sends, a new upstream takes the next sends."""
    row = await access_number(rt, org, raw_id)
    change: NumberChange = decode(body, NumberChange)
    changes: dict[str, Any] = {}
    if change.rate is not None:
        changes["rate"] = _checked(check_rate, change.rate, "rate")
    if change.verified_name is not None:
        changes["verified_name"] = _checked(rules.check_name, change.verified_name, "verified_name")
    if change.upstream is not None:
        changes["upstream"] = _checked(rules.check_upstream, change.upstream, "upstream")
        if rules.needs_meta(changes["upstream"]):
            account = await access_account(rt, org, str(row.number.waba_id))
            if not account.at_meta:
                raise ApiError(
                    "invalid_request",
                    "the number's account is not at Meta: it cannot use the cloud upstream",
                    field="upstream",
                )
    if changes:
        number = await rt.db.write(
            store.ChangeNumber(org.id, row.number.id, changes, Stamp(by, rt.clock.now()))
        )
        if number is None:
            raise not_found(f"phone number {raw_id}")
        _changed(rt, number)
        if number.upstream != row.number.upstream:
            await simulator_sync.number_added(rt, number.waba_id)
    return present(await _load(rt, org, row.number.id))


def _changed(rt: Runtime, number: PhoneNumber) -> None:
    """This process's sends use the new settings at once; other processes' within 2 s (their number
    cache's life and their dispatcher's next look at the numbers)."""
    rt.numbers.put(number.id, number)
    rt.waker.number_changed(number)


async def do_refresh_number(rt: Runtime, org: Organization, raw_id: str, by: Actor) -> dict[str, Any]:
    """Read the number from its upstream (Meta, or the simulator) and keep how it stands."""
    row = await access_number(rt, org, raw_id)
    number = row.number
    upstream = running_upstream(rt, number)
    if upstream is None:
        raise ApiError(
            "upstream_unavailable",
            f"the {number.upstream!r} upstream of this number does not run in this process "
            "(the simulator runs only in `wagate serve`); refresh there",
            http_status=503,
        )
    try:
        answer = await upstream.number_fields(number.ref, rules.REFRESH_FIELDS)
    except UpstreamError as exc:
        raise meta_refused(exc) from exc
    if upstream.at_meta:
        standing = rules.standing_from_meta(answer)
    else:
        # The simulator follows wagate's records: the quality is the one wagate computes.
        quality = await rt.db.read(lambda conn: rating_of(conn, org.id))
        standing = rules.NumberStanding(
            messaging_tier=str(answer["messaging_limit_tier"]),
            quality_rating=quality,
            code_verification_status=answer.get("code_verification_status"),
            platform_type="CLOUD_API",
            connected=rules.connected_from_status(answer.get("status")),
        )
    await rt.db.write(store.RecordStanding(org.id, number.id, standing, Stamp(by, rt.clock.now())))
    refreshed = await _load(rt, org, number.id)
    _changed(rt, refreshed.number)
    return present(refreshed)
