"""Business accounts: added with their Meta id and credentials, changed, removed, and subscribed to
Meta's webhooks. Secrets go in and are never given back (only whether they are set)."""

from __future__ import annotations

from typing import Any

import msgspec

from wagate.domain.access import Actor
from wagate.domain.numbers import check_name, check_secret
from wagate.domain.tenancy import Organization
from wagate.errors import ApiError, not_found
from wagate.ids import parse_id
from wagate.services.organizations import decode, invalid
from wagate.services.runtime import Runtime
from wagate.services.upstreams import api_at_meta
from wagate.store import accounts as store
from wagate.store.management import Stamp
from wagate.upstreams.base import UpstreamError
from wagate.upstreams.cloud import MetaRefusal

_SECRETS = ("access_token", "app_secret")


class NewAccount(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    meta_waba_id: str | int | None = None
    access_token: str | None = None
    app_secret: str | None = None
    meta_app_id: str | int | None = None


class AccountChange(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    access_token: str | None = None
    app_secret: str | msgspec.UnsetType | None = msgspec.UNSET
    meta_app_id: str | int | msgspec.UnsetType | None = msgspec.UNSET


def present(account: store.AccountRow) -> dict[str, Any]:
    return {
        "id": str(account.id),
        "name": account.name,
        "at_meta": account.at_meta,
        "access_token_set": account.access_token_tail is not None,
        "access_token_last4": account.access_token_tail,
        "app_secret_set": account.app_secret_set,
        "meta_app_id": account.meta_app_id,
        "subscribed_at": account.subscribed_at,
        "phone_number_ids": [str(n) for n in account.phone_number_ids],
        "created_at": account.created_at,
    }


def _meta_id(raw: str | int, field: str) -> int:
    text = str(raw).strip()
    if not text.isdigit() or not 0 < len(text) <= 18:
        raise ApiError("invalid_request", f"{field} must be Meta's numeric id", field=field)
    return int(text)


def _checked(check: Any, value: Any, field: str) -> Any:
    try:
        return check(value, field)
    except ValueError as exc:
        raise invalid(exc, field) from None


async def do_create_account(rt: Runtime, org: Organization, body: bytes, by: Actor) -> dict[str, Any]:
    new: NewAccount = decode(body, NewAccount)
    name = _checked(check_name, new.name, "name")
    meta_id = None if new.meta_waba_id is None else _meta_id(new.meta_waba_id, "meta_waba_id")
    token = None if new.access_token is None else _checked(check_secret, new.access_token, "access_token")
    if meta_id is not None and token is None:
        raise ApiError(
            "invalid_request",
            "an account at Meta needs access_token (a system-user token)",
            field="access_token",
        )
    if meta_id is None and token is not None:
        raise ApiError(
            "invalid_request",
            "access_token is for an account at Meta: give meta_waba_id",
            field="meta_waba_id",
        )
    secret = None if new.app_secret is None else _checked(check_secret, new.app_secret, "app_secret")
    app_id = None if new.meta_app_id is None else str(_meta_id(new.meta_app_id, "meta_app_id"))
    account_id = await rt.db.write(
        store.AddAccount(org.id, name, Stamp(by, rt.clock.now()), meta_id, token, secret, app_id)
    )
    if account_id is None:
        raise ApiError(
            "account_exists",
            f"business account {meta_id} is already in wagate",
            http_status=409,
            field="meta_waba_id",
        )
    return present(await _load(rt, org, account_id))


async def list_accounts(rt: Runtime, org: Organization) -> list[dict[str, Any]]:
    return [present(a) for a in await rt.db.read(lambda conn: store.accounts_of(conn, org.id))]


async def _load(rt: Runtime, org: Organization, account_id: int) -> store.AccountRow:
    found = await rt.db.read(lambda conn: store.account_of(conn, org.id, account_id))
    if found is None:
        raise not_found(f"business account {account_id}")
    return found


async def access_account(rt: Runtime, org: Organization, raw_id: str) -> store.AccountRow:
    """An account of `org`; another organization's answers not found, as one that does not exist."""
    account_id = parse_id(raw_id)
    if account_id is None:
        raise not_found(f"business account {raw_id}")
    return await _load(rt, org, account_id)


async def owner_of(rt: Runtime, raw_id: str) -> Organization:
    """The organization of an account, for the operator (the CLI), who acts for every organization."""
    account_id = parse_id(raw_id)
    if account_id is None:
        raise not_found(f"business account {raw_id}")
    org = await rt.db.read(lambda conn: store.owner_of(conn, account_id))
    if org is None:
        raise not_found(f"business account {raw_id}")
    return org


async def do_change_account(
    rt: Runtime, org: Organization, raw_id: str, body: bytes, by: Actor
) -> dict[str, Any]:
    account = await access_account(rt, org, raw_id)
    change: AccountChange = decode(body, AccountChange)
    changes: dict[str, str | None] = {}
    if change.name is not None:
        changes["name"] = _checked(check_name, change.name, "name")
    if change.access_token is not None:
        if not account.at_meta:
            raise ApiError(
                "invalid_request", "this account is not at Meta: it has no token", field="access_token"
            )
        changes["access_token"] = _checked(check_secret, change.access_token, "access_token")
    if not isinstance(change.app_secret, msgspec.UnsetType):
        changes["app_secret"] = (
            None if change.app_secret is None else _checked(check_secret, change.app_secret, "app_secret")
        )
    if not isinstance(change.meta_app_id, msgspec.UnsetType):
        app_id = change.meta_app_id
        changes["meta_app_id"] = None if app_id is None else str(_meta_id(app_id, "meta_app_id"))
    if changes and not await rt.db.write(
        store.ChangeAccount(org.id, account.id, changes, Stamp(by, rt.clock.now()))
    ):
        raise not_found(f"business account {raw_id}")
    return present(await _load(rt, org, account.id))


async def do_delete_account(rt: Runtime, org: Organization, raw_id: str, by: Actor) -> dict[str, Any]:
    account = await access_account(rt, org, raw_id)
    outcome = await rt.db.write(store.RemoveAccount(org.id, account.id, Stamp(by, rt.clock.now())))
    if outcome == "not_found":
        raise not_found(f"business account {raw_id}")
    if outcome != "deleted":
        what = outcome.replace("_", " ")
        raise ApiError("account_in_use", f"business account {account.id} still has {what}", http_status=409)
    return {"id": str(account.id), "deleted": True}


def meta_refused(exc: UpstreamError) -> ApiError:
    """Meta's refusal (or no answer) on /api/v1: a gateway error carrying Meta's code and message."""
    error = exc.error if isinstance(exc, MetaRefusal) else {"code": exc.code, "message": exc.details}
    return ApiError("meta_error", f"Meta answered: {exc.details}", http_status=502, meta=error)


async def do_subscribe(
    rt: Runtime, org: Organization, raw_id: str, by: Actor, *, subscribe: bool = True
) -> dict[str, Any]:
    """Subscribe the Meta app to the account's webhooks at Meta (or unsubscribe it); an account not at
    Meta (the simulator's) has nothing to subscribe at Meta and is only recorded."""
    account = await access_account(rt, org, raw_id)
    detail: dict[str, Any] = {"at_meta": account.at_meta}
    if account.at_meta:
        cloud = api_at_meta(rt)
        try:
            answer = await (
                cloud.subscribe_app(account.id) if subscribe else cloud.unsubscribe_app(account.id)
            )
        except UpstreamError as exc:
            raise meta_refused(exc) from exc
        detail["meta_success"] = bool(answer.get("success"))
    await rt.db.write(
        store.RecordSubscription(org.id, account.id, subscribe, Stamp(by, rt.clock.now()), detail)
    )
    return present(await _load(rt, org, account.id))
