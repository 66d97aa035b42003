"""Contacts: create, find, change and erase the people an organization talks to."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from wagate.domain.access import Actor
from wagate.domain.phone import to_wa_id
from wagate.domain.tenancy import Organization
from wagate.errors import ApiError, GraphError, not_found
from wagate.ids import parse_id
from wagate.media.store import media_store
from wagate.services.runtime import Runtime
from wagate.store import contacts as store
from wagate.store.audit import Entry, WithAudit
from wagate.store.tenancy import numbers_of

MAX_KEY = 64
MAX_TAG = 64
MAX_NAME = 200
MAX_VALUE = 1024
_PHONE_PUNCTUATION = str.maketrans("", "", "+-() .")


class NewContact(msgspec.Struct, forbid_unknown_fields=True):
    phone: str
    name: str | None = None
    attributes: dict[str, str | int | float | bool] = {}
    tags: list[str] = []


class ContactChange(msgspec.Struct, forbid_unknown_fields=True):
    name: str | msgspec.UnsetType | None = msgspec.UNSET
    attributes: dict[str, str | int | float | bool | None] = {}
    tags: list[str] | None = None
    add_tags: list[str] = []
    remove_tags: list[str] = []


def _decode(body: bytes, kind: type[Any]) -> Any:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.DecodeError as exc:
        raise ApiError("invalid_request", str(exc)) from exc


def check_name(name: str | None) -> str | None:
    if name is not None and len(name) > MAX_NAME:
        raise ApiError("invalid_request", f"name is longer than {MAX_NAME} characters", field="name")
    return name


def check_attributes(attributes: dict[str, Any]) -> None:
    if len(attributes) > store.MAX_ATTRIBUTES:
        raise ApiError("invalid_request", f"at most {store.MAX_ATTRIBUTES} attributes", field="attributes")
    for key, value in attributes.items():
        if not key or len(key) > MAX_KEY:
            raise ApiError(
                "invalid_request", f"attribute keys are 1 to {MAX_KEY} characters", field="attributes"
            )
        if isinstance(value, str) and len(value) > MAX_VALUE:
            raise ApiError(
                "invalid_request",
                f"attribute {key!r} is longer than {MAX_VALUE} characters",
                field="attributes",
            )


def check_tags(tags: list[str], field: str) -> list[str]:
    if len(tags) > store.MAX_TAGS:
        raise ApiError("invalid_request", f"at most {store.MAX_TAGS} tags", field=field)
    for tag in tags:
        if not tag or len(tag) > MAX_TAG:
            raise ApiError("invalid_request", f"tags are 1 to {MAX_TAG} characters", field=field)
    return list(dict.fromkeys(tags))


async def check_phone(rt: Runtime, org: Organization, phone: str) -> str:
    """The wa_id of `phone`, read in the region of the organization's first number (or the US)."""
    numbers = await rt.db.read(lambda conn: numbers_of(conn, org.id))
    region = numbers[0].region if numbers else "US"
    try:
        return to_wa_id(phone, region)
    except GraphError:
        raise ApiError("invalid_request", f"{phone!r} is not a valid phone number", field="phone") from None


async def do_create_contact(rt: Runtime, org: Organization, body: bytes, by: Actor) -> dict[str, Any]:
    new = _decode(body, NewContact)
    name = check_name(new.name)
    check_attributes(new.attributes)
    tags = check_tags(new.tags, "tags")
    wa_id = await check_phone(rt, org, new.phone)
    now = rt.clock.now()
    row = await rt.db.write(
        WithAudit(
            store.CreateContact(org.id, wa_id, name, new.attributes, tags, now),
            org.id,
            by,
            now,
            lambda row: None if row is None else Entry("contact.create", "contact", row["id"]),
        )
    )
    if row is None:
        raise ApiError("contact_exists", f"a contact with wa_id {wa_id} exists", http_status=409, wa_id=wa_id)
    return present(row)


async def list_contacts(
    rt: Runtime, org: Organization, q: str | None, tag: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    query = q.strip().casefold() if q is not None and q.strip() else None
    digits = None
    if query is not None:
        bare = query.translate(_PHONE_PUNCTUATION)
        digits = bare if bare.isdigit() else None
    rows = await rt.db.read(
        lambda conn: store.list_contacts(
            conn, org.id, query=query, digits=digits, tag=tag or None, limit=limit, offset=offset
        )
    )
    return [present(row) for row in rows]


def _contact_id(raw_id: str) -> int:
    contact_id = parse_id(raw_id)
    if contact_id is None:
        raise not_found(f"contact {raw_id}")
    return contact_id


async def access_contact(rt: Runtime, org: Organization, raw_id: str) -> dict[str, Any]:
    contact_id = _contact_id(raw_id)
    row = await rt.db.read(lambda conn: store.load_contact(conn, org.id, contact_id))
    if row is None:
        raise not_found(f"contact {raw_id}")
    return row


async def do_change_contact(
    rt: Runtime, org: Organization, raw_id: str, body: bytes, by: Actor
) -> dict[str, Any]:
    contact_id = _contact_id(raw_id)
    change = _decode(body, ContactChange)
    if change.tags is not None and (change.add_tags or change.remove_tags):
        raise ApiError("invalid_request", "give tags, or add_tags and remove_tags, not both", field="tags")
    set_name = not isinstance(change.name, msgspec.UnsetType)
    name = check_name(None if isinstance(change.name, msgspec.UnsetType) else change.name)
    check_attributes(change.attributes)
    tags = check_tags(change.tags, "tags") if change.tags is not None else None
    now = rt.clock.now()
    given = {
        "name": set_name,
        "attributes": bool(change.attributes),
        "tags": change.tags is not None,
        "add_tags": bool(change.add_tags),
        "remove_tags": bool(change.remove_tags),
    }
    changed = sorted(key for key, was_given in given.items() if was_given)
    entry = Entry("contact.update", "contact", contact_id, {"changed": changed})
    result = await rt.db.write(
        WithAudit(
            store.ChangeContact(
                org.id,
                contact_id,
                now,
                name,
                set_name,
                change.attributes,
                tags,
                check_tags(change.add_tags, "add_tags"),
                check_tags(change.remove_tags, "remove_tags"),
            ),
            org.id,
            by,
            now,
            lambda result: entry if isinstance(result, dict) else None,
        )
    )
    if result is None:
        raise not_found(f"contact {raw_id}")
    if result == "too_many_attributes":
        raise ApiError("invalid_request", f"at most {store.MAX_ATTRIBUTES} attributes", field="attributes")
    if result == "too_many_tags":
        raise ApiError("invalid_request", f"at most {store.MAX_TAGS} tags", field="tags")
    assert isinstance(result, dict)
    return present(result)


async def do_erase_contact(rt: Runtime, org: Organization, raw_id: str, by: Actor) -> dict[str, Any]:
    """Erase the contact, its messages, windows, conversations, events and media (files too); its consent
    history stays."""
    contact_id = _contact_id(raw_id)
    now = rt.clock.now()
    # Not the phone number: an erased contact leaves no personal data behind, in the audit log either.
    erased = await rt.db.write(
        WithAudit(
            store.EraseContact(org.id, contact_id, now),
            org.id,
            by,
            now,
            lambda erased: (
                None if erased is None else Entry("contact.erase", "contact", contact_id, erased.counts)
            ),
        )
    )
    if erased is None:
        raise not_found(f"contact {raw_id}")
    files = media_store(rt.settings, rt.db.keys)
    for key in erased.storage_keys:
        if key:  # inbound media never downloaded has no file
            await files.delete(key)
    return {"erased": True, **erased.counts}


def present(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "wa_id": row["wa_id"],
        "name": row["profile_name"],
        "attributes": json.loads(row["attributes"]),
        "tags": json.loads(row["tags"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
