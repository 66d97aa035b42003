"""Webhooks to the business: managing subscriptions, building and signing what is sent, replaying.

The event catalogue and both formats are described in docs/events.md.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import msgspec
from msgspec import UNSET, UnsetType

from wagate.cloudapi.signatures import (
    STANDARD_SECRET_PREFIX,
    hub_signature,
    new_standard_secret,
    standard_signature,
)
from wagate.cloudapi.webhooks import OBJECT
from wagate.domain.access import Actor
from wagate.domain.retry import RetryPolicy
from wagate.domain.tenancy import Organization
from wagate.errors import ApiError, not_found
from wagate.ids import parse_id
from wagate.net.addresses import SafeResolver, UnsafeTarget, check_url, safe_session
from wagate.net.failures import describe
from wagate.services.runtime import Runtime
from wagate.settings import Settings
from wagate.store import tenancy as tenancy_sql
from wagate.store import webhooks as sql
from wagate.store.audit import Entry, WithAudit
from wagate.store.db import Database
from wagate.store.webhooks import ClaimedDelivery, DeliveryOutcome, Subscription

EVENT_TYPES = (
    "message.received",
    "message.status",
    "template.status",
    "template.quality",
    "template.category",
    "account.update",
    "account.quality",
    "contact.preferences",
    "contact.consent",
)
FORMATS = ("meta", "wagate")
STATES = ("pending", "delivered", "dead")
MAX_CONCURRENCY = 64
MAX_URL_LENGTH = 2048
USER_AGENT = "wagate-webhooks/1"
# Meta puts the change's time on the entry for every field except `messages`.
UNTIMED_FIELDS = frozenset({"messages"})

_encoder = msgspec.json.Encoder()


# -- requests, as parsed at the edge ----------------------------------------------------------------
class SubscriptionCreate(msgspec.Struct, forbid_unknown_fields=True):
    url: str
    format: str = "wagate"
    phone_number_ids: list[str | int] | None = None
    event_types: list[str] | None = None
    max_concurrency: int | None = None
    batch_size: int = 1
    secret: str | None = None
    verify_token: str | None = None


class SubscriptionPatch(msgspec.Struct, forbid_unknown_fields=True):
    url: str | UnsetType = UNSET
    phone_number_ids: list[str | int] | UnsetType | None = UNSET
    event_types: list[str] | UnsetType | None = UNSET
    max_concurrency: int | UnsetType = UNSET
    batch_size: int | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    verify_token: str | UnsetType = UNSET


class ReplayRequest(msgspec.Struct, forbid_unknown_fields=True):
    state: str | None = None
    since: float | None = None


@dataclass(frozen=True, slots=True)
class CreatedSubscription:
    subscription: Subscription
    secret: str  # shown once, in the answer to the creation
    verify_token: str | None


# -- checks -----------------------------------------------------------------------------------------
async def check_target(rt: Runtime, url: str) -> str:
    """The URL if wagate may call it: http(s), and every address its host resolves to allowed."""
    allow_private = rt.settings.allow_private_targets
    if len(url) > MAX_URL_LENGTH:
        raise ApiError("invalid_url", f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        host = check_url(url, allow_private=allow_private)
        # Resolving now refuses a name of a private address when the subscription is made; the
        # resolver checks again at every connection, which catches a name that changes later.
        resolver = SafeResolver(allow_private=allow_private)
        try:
            await resolver.resolve(host, 0, socket.AF_UNSPEC)
        finally:
            await resolver.close()
    except UnsafeTarget as exc:
        raise unsafe_target(exc, url) from exc
    except OSError as exc:
        raise ApiError("unresolvable_target", f"{url!r}: the host {host} does not resolve", url=url) from exc
    return url


def check_format(value: str) -> str:
    if value not in FORMATS:
        raise ApiError("invalid_format", f"format must be one of {', '.join(FORMATS)}, not {value!r}")
    return value


def check_event_types(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    if not values:
        raise ApiError("invalid_request", "event_types is empty: leave it out (or null) for every event")
    for value in values:
        if value not in EVENT_TYPES:
            raise ApiError(
                "unknown_event_type",
                f"{value!r} is not an event type; known types: {', '.join(EVENT_TYPES)}",
                event_type=value,
            )
    return list(dict.fromkeys(values))


async def check_phone_numbers(
    rt: Runtime, org: Organization, values: list[str | int] | None
) -> list[int] | None:
    if values is None:
        return None
    if not values:
        raise ApiError(
            "invalid_request", "phone_number_ids is empty: leave it out (or null) for every number"
        )
    own = {n.id for n in await rt.db.read(lambda conn: tenancy_sql.numbers_of(conn, org.id))}
    wanted: list[int] = []
    for raw in values:
        number_id = parse_id(raw) if isinstance(raw, str) else raw
        if number_id not in own:
            # Another organization's number is as unknown as one that does not exist.
            raise ApiError(
                "unknown_phone_number",
                f"{raw} is not a phone number of this organization",
                phone_number_id=str(raw),
            )
        wanted.append(number_id)
    return list(dict.fromkeys(wanted))


MAX_BATCH = 1000


def check_batch_size(fmt: str, value: int) -> int:
    """Meta's format may carry up to 1,000 events per POST, as Meta's own webhooks may; wagate's own
    format (Standard Webhooks) carries one event per request."""
    if fmt != "meta" and value != 1:
        raise ApiError(
            "invalid_batch_size",
            "batch_size applies to the meta format only; wagate sends one event per request",
        )
    if not 1 <= value <= MAX_BATCH:
        raise ApiError("invalid_batch_size", f"batch_size must be between 1 and {MAX_BATCH}")
    return value


def check_max_concurrency(value: int) -> int:
    if not 1 <= value <= MAX_CONCURRENCY:
        raise ApiError("invalid_max_concurrency", f"max_concurrency must be between 1 and {MAX_CONCURRENCY}")
    return value


def check_secret(format: str, secret: str | None) -> str:
    """The given secret if it suits the format, else a new one."""
    if secret is None:
        return secrets.token_hex(16) if format == "meta" else new_standard_secret()
    if format == "meta":
        if not 16 <= len(secret) <= 256:
            raise ApiError("invalid_secret", "a meta secret is 16 to 256 characters (an app secret)")
        return secret
    try:
        key = base64.b64decode(secret.removeprefix(STANDARD_SECRET_PREFIX), validate=True)
    except binascii.Error as exc:
        raise ApiError("invalid_secret", "a wagate secret is whsec_ followed by base64") from exc
    if not secret.startswith(STANDARD_SECRET_PREFIX) or not 24 <= len(key) <= 64:
        raise ApiError("invalid_secret", "a wagate secret is whsec_ followed by base64 of 24 to 64 bytes")
    return secret


def unsafe_target(exc: UnsafeTarget, url: str) -> ApiError:
    return ApiError("unsafe_target", str(exc), url=url, setting="WAGATE_ALLOW_PRIVATE_TARGETS")


async def check_meta_handshake(rt: Runtime, url: str, verify_token: str) -> None:
    """Meta's verification request: the endpoint must answer with the challenge, as it does for Meta."""
    challenge = str(secrets.randbelow(9 * 10**9) + 10**9)
    params = {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": challenge}
    settings = rt.settings
    try:
        async with (
            safe_session(
                allow_private=settings.allow_private_targets, timeout=settings.webhook_timeout
            ) as session,
            session.get(
                url, params=params, allow_redirects=False, headers={"User-Agent": USER_AGENT}
            ) as response,
        ):
            status = response.status
            answer = (await response.content.read(256)).decode(errors="replace").strip()
    except UnsafeTarget as exc:
        raise unsafe_target(exc, url) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        why = describe(exc, timeout=settings.webhook_timeout)
        raise ApiError(
            "webhook_verification_failed", f"the verification request to {url} failed: {why}", url=url
        ) from exc
    if not 200 <= status < 300 or answer != challenge:
        raise ApiError(
            "webhook_verification_failed",
            "the endpoint must answer the verification request with hub.challenge and a 2xx status",
            url=url,
            status_code=status,
        )


# -- subscriptions ----------------------------------------------------------------------------------
async def access_subscription(rt: Runtime, org: Organization, raw_id: str) -> Subscription:
    """A subscription of `org`; another organization's answers as one that does not exist."""
    subscription_id = parse_id(raw_id)
    if subscription_id is None:
        raise not_found("webhook subscription")
    found = await rt.db.read(lambda conn: sql.subscription_by_id(conn, org.id, subscription_id))
    if found is None:
        raise not_found("webhook subscription")
    return found


async def list_subscriptions(rt: Runtime, org: Organization) -> list[Subscription]:
    return await rt.db.read(lambda conn: sql.subscriptions_of(conn, org.id))


async def do_create_subscription(
    rt: Runtime, org: Organization, req: SubscriptionCreate, by: Actor
) -> CreatedSubscription:
    fmt = check_format(req.format)
    numbers = await check_phone_numbers(rt, org, req.phone_number_ids)
    event_types = check_event_types(req.event_types)
    concurrency = check_max_concurrency(
        rt.settings.webhook_concurrency if req.max_concurrency is None else req.max_concurrency
    )
    secret = check_secret(fmt, req.secret)
    batch_size = check_batch_size(fmt, req.batch_size)
    if fmt != "meta" and req.verify_token is not None:
        raise ApiError("invalid_request", "verify_token applies to the meta format only")
    url = await check_target(rt, req.url)
    verify_token = None
    if fmt == "meta":
        verify_token = req.verify_token or secrets.token_urlsafe(24)
        await check_meta_handshake(rt, url, verify_token)
    now = rt.clock.now()
    create = sql.CreateSubscription(
        org.id, url, fmt, secret, verify_token, numbers, event_types, concurrency, now, batch_size
    )
    sub = await rt.db.write(
        WithAudit(
            create,
            org.id,
            by,
            now,
            lambda sub: Entry(
                "webhook_subscription.create",
                "webhook_subscription",
                sub.id,
                {"url": sub.url, "format": sub.format, "event_types": sub.event_types},
            ),
        )
    )
    return CreatedSubscription(sub, secret, verify_token)


async def do_update_subscription(
    rt: Runtime, org: Organization, raw_id: str, patch: SubscriptionPatch, by: Actor
) -> Subscription:
    sub = await access_subscription(rt, org, raw_id)
    changes: dict[str, Any] = {}
    if patch.phone_number_ids is not UNSET:
        changes["phone_number_ids"] = await check_phone_numbers(rt, org, patch.phone_number_ids)
    if patch.event_types is not UNSET:
        changes["event_types"] = check_event_types(patch.event_types)
    if patch.max_concurrency is not UNSET:
        changes["max_concurrency"] = check_max_concurrency(patch.max_concurrency)
    if patch.batch_size is not UNSET:
        changes["batch_size"] = check_batch_size(sub.format, patch.batch_size)
    if patch.active is not UNSET:
        changes["active"] = patch.active
    if patch.verify_token is not UNSET:
        if sub.format != "meta":
            raise ApiError("invalid_request", "verify_token applies to the meta format only")
        changes["verify_token"] = patch.verify_token
    if patch.url is not UNSET and patch.url != sub.url:
        changes["url"] = await check_target(rt, patch.url)
    if sub.format == "meta" and ("url" in changes or "verify_token" in changes):
        await check_meta_handshake(
            rt, changes.get("url", sub.url), changes.get("verify_token", sub.verify_token) or ""
        )
    if not changes:
        return sub
    now = rt.clock.now()
    # The fields changed, by name only: a verify token is a secret.
    entry = Entry("webhook_subscription.update", "webhook_subscription", sub.id, {"changed": sorted(changes)})
    updated = await rt.db.write(
        WithAudit(
            sql.UpdateSubscription(org.id, sub.id, changes, now),
            org.id,
            by,
            now,
            lambda found: None if found is None else entry,
        )
    )
    if updated is None:
        raise not_found("webhook subscription")
    return updated


async def do_delete_subscription(rt: Runtime, org: Organization, raw_id: str, by: Actor) -> None:
    sub = await access_subscription(rt, org, raw_id)
    entry = Entry("webhook_subscription.delete", "webhook_subscription", sub.id, {"url": sub.url})
    deleted = await rt.db.write(
        WithAudit(
            sql.DeleteSubscription(org.id, sub.id),
            org.id,
            by,
            rt.clock.now(),
            lambda found: entry if found else None,
        )
    )
    if not deleted:
        raise not_found("webhook subscription")


# -- deliveries -------------------------------------------------------------------------------------
def check_state(state: str | None) -> str | None:
    if state is not None and state not in STATES:
        raise ApiError("invalid_state", f"state must be one of {', '.join(STATES)}, not {state!r}")
    return state


async def list_deliveries(
    rt: Runtime,
    org: Organization,
    *,
    state: str | None,
    subscription_id: int | None,
    before_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    check_state(state)
    return await rt.db.read(
        lambda conn: sql.deliveries_of(
            conn, org.id, state=state, subscription_id=subscription_id, before_id=before_id, limit=limit
        )
    )


async def do_replay_delivery(rt: Runtime, org: Organization, raw_id: str) -> dict[str, Any]:
    """Send one delivery again (whatever its state) unless it is being attempted right now."""
    delivery_id = parse_id(raw_id)
    if delivery_id is None:
        raise not_found("webhook delivery")
    replayed = await rt.db.write(sql.ReplayDeliveries(rt.clock.now(), org_id=org.id, delivery_id=delivery_id))
    found = await rt.db.read(lambda conn: sql.delivery_by_id(conn, org.id, delivery_id))
    if found is None:
        raise not_found("webhook delivery")
    if not replayed:
        raise ApiError("delivery_in_flight", "the delivery is being attempted right now", http_status=409)
    return found


async def do_replay_subscription(rt: Runtime, org: Organization, raw_id: str, req: ReplayRequest) -> int:
    """Send a subscription's deliveries again: those in `state` (dead by default), or since a time."""
    sub = await access_subscription(rt, org, raw_id)
    state = check_state(req.state)
    if state is None and req.since is None:
        state = "dead"
    return await rt.db.write(
        sql.ReplayDeliveries(
            rt.clock.now(), org_id=org.id, subscription_id=sub.id, state=state, since=req.since
        )
    )


def replay_deliveries(
    db: Database, now: float, *, subscription_id: int | None, state: str | None, since: float | None
) -> int:
    """The operator's replay, across organizations (the CLI): dead deliveries when nothing is said."""
    check_state(state)
    if state is None and since is None:
        state = "dead"
    return db.write_now(sql.ReplayDeliveries(now, subscription_id=subscription_id, state=state, since=since))


def all_subscriptions(db: Database) -> list[Subscription]:
    return db.read_now(lambda conn: sql.subscriptions_of(conn, None))


# -- what is sent -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OutgoingWebhook:
    body: bytes
    headers: dict[str, str]


def meta_body(items: Sequence[ClaimedDelivery]) -> bytes:
    """Meta's envelope: an entry with one change per event (several when the subscription batches);
    each stored value is spliced in as it was recorded."""
    entries = []
    for item in items:
        assert item.meta_value is not None and item.field is not None, (
            "fan-out skips events without a Meta value"
        )
        entry: dict[str, Any] = {
            "id": "" if item.waba_id is None else str(item.waba_id),
            "changes": [{"field": item.field, "value": msgspec.Raw(item.meta_value.encode())}],
        }
        if item.field not in UNTIMED_FIELDS:
            entry["time"] = int(item.event_created_at)
        entries.append(entry)
    return _encoder.encode({"object": OBJECT, "entry": entries})


def wagate_body(item: ClaimedDelivery) -> bytes:
    return _encoder.encode(
        {
            "id": item.event_id,
            "type": item.event_type,
            "version": 1,
            "created_at": item.event_created_at,
            "organization_id": item.org_id,
            "phone_number_id": None if item.phone_number_id is None else str(item.phone_number_id),
            "data": msgspec.Raw(item.payload.encode()),
        }
    )


def build_webhook(items: Sequence[ClaimedDelivery], now: float) -> OutgoingWebhook:
    """The body and headers of one attempt (one event, or a batch in Meta's format), signed for the
    subscription's format."""
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    item = items[0]
    if item.format == "meta":
        body = meta_body(items)
        headers["X-Hub-Signature-256"] = hub_signature(item.secret, body)
        return OutgoingWebhook(body, headers)
    body = wagate_body(item)
    timestamp = int(now)
    headers["webhook-id"] = item.event_id
    headers["webhook-timestamp"] = str(timestamp)
    headers["webhook-signature"] = standard_signature(item.secret, item.event_id, timestamp, body)
    return OutgoingWebhook(body, headers)


def outcome_of(
    item: ClaimedDelivery,
    now: float,
    settings: Settings,
    *,
    status_code: int | None,
    error: str | None,
    rnd: float | None = None,
) -> DeliveryOutcome:
    """Delivered on a 2xx; else tried again after a jittered backoff, or dead once the event is too old."""
    if status_code is not None and 200 <= status_code < 300:
        return DeliveryOutcome(item.delivery_id, "delivered", now, status_code, None, delivered_at=now)
    if error is None:
        error = f"HTTP {status_code}"
    if now - item.event_created_at >= settings.webhook_max_age:
        return DeliveryOutcome(item.delivery_id, "dead", now, status_code, error)
    policy = RetryPolicy(settings.webhook_retry_base, settings.webhook_retry_max)
    return DeliveryOutcome(
        item.delivery_id, "pending", now + policy.delay(item.attempts, rnd=rnd), status_code, error
    )
