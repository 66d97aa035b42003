"""Organizations: the token's own (read, renamed) and, for the deployment's operator, new ones."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from wagate.domain.access import Actor
from wagate.domain.numbers import check_name
from wagate.domain.policy import TIER_LIMITS
from wagate.domain.tenancy import Organization
from wagate.errors import ApiError, not_found
from wagate.ids import new_api_token
from wagate.services.runtime import Runtime
from wagate.store import organizations as store
from wagate.store.db import Database
from wagate.store.management import Stamp

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")


def decode(body: bytes, kind: type[Any]) -> Any:
    """A request body as `kind`; wagate's `invalid_request` error when it is not."""
    try:
        return msgspec.json.decode(body or b"{}", type=kind)
    except msgspec.DecodeError as exc:
        raise ApiError("invalid_request", str(exc)) from exc


def invalid(exc: ValueError, field: str) -> ApiError:
    return ApiError("invalid_request", str(exc), field=field)


def present(summary: store.OrganizationSummary) -> dict[str, Any]:
    return {
        "id": str(summary.id),
        "name": summary.name,
        "slug": summary.slug,
        "messaging_tier": summary.messaging_tier,
        "created_at": summary.created_at,
        "counts": {
            "business_accounts": summary.business_accounts,
            "phone_numbers": summary.phone_numbers,
            "templates": summary.templates,
            "active_tokens": summary.active_tokens,
        },
    }


async def access_organization(rt: Runtime, org: Organization) -> store.OrganizationSummary:
    found = await rt.db.read(lambda conn: store.summary_of(conn, org.id))
    if found is None:
        raise not_found("organization")
    return found


class OrganizationChange(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None


async def do_change_organization(rt: Runtime, org: Organization, body: bytes, by: Actor) -> dict[str, Any]:
    change: OrganizationChange = decode(body, OrganizationChange)
    if change.name is not None:
        try:
            name = check_name(change.name)
        except ValueError as exc:
            raise invalid(exc, "name") from None
        await rt.db.write(store.RenameOrganization(org.id, name, Stamp(by, rt.clock.now())))
    return present(await access_organization(rt, org))


# -- the operator's (CLI) -----------------------------------------------------------------------------
def check_slug(slug: str) -> str:
    if not _SLUG.match(slug):
        raise ValueError(
            f"slug {slug!r}: 1 to 100 lowercase letters, digits and hyphens, starting and ending with "
            "a letter or digit"
        )
    return slug


def check_tier(tier: str) -> str:
    if tier not in TIER_LIMITS:
        raise ValueError(f"tier must be one of {', '.join(TIER_LIMITS)}, not {tier!r}")
    return tier


def do_open_organization(
    db: Database, name: str, slug: str, tier: str, by: Actor, now: float
) -> tuple[Organization, str]:
    """A new organization and its first API token (shown once); ValueError for bad input or a taken slug."""
    name = check_name(name)
    token = new_api_token()
    org = db.write_now(
        store.OpenOrganization(name, check_slug(slug), check_tier(tier), token, Stamp(by, now))
    )
    if org is None:
        raise ValueError(f"an organization with slug {slug!r} exists")
    return org, token


def list_organizations(db: Database) -> list[store.OrganizationSummary]:
    return db.read_now(store.all_summaries)
