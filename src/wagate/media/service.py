"""Media use cases: upload, describe, download, delete, check the media of a send, fetch inbound files."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Sequence
from typing import Any

from wagate.cloudapi.send import MediaRef
from wagate.domain.tenancy import Organization, PhoneNumber
from wagate.errors import GraphError, unknown_object
from wagate.media import rules, urls
from wagate.media.store import MediaNotStored, media_store, new_key
from wagate.net.addresses import UnsafeTarget, check_url
from wagate.services.runtime import Runtime
from wagate.store import media as sql
from wagate.store import tenancy as tenancy_sql
from wagate.upstreams.base import UpstreamError

log = logging.getLogger(__name__)


async def sha256_hex(data: bytes) -> str:
    # Hashing 100 MB takes a fraction of a second: off the event loop.
    return await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())


async def do_upload(
    rt: Runtime,
    org: Organization,
    number: PhoneNumber,
    data: bytes,
    mime_type: str | None,
    filename: str | None,
) -> int:
    """Store an uploaded file as media of `number`; returns its media id."""
    mime = rules.check_upload(mime_type, data)
    digest = await sha256_hex(data)
    store = media_store(rt.settings, rt.db.keys)
    key = new_key()
    await store.put(key, data)
    now = rt.clock.now()
    job = sql.CreateMedia(
        org_id=org.id,
        phone_number_id=number.id,
        mime_type=mime,
        sha256=digest,
        file_size=len(data),
        filename=filename[:255] if filename else None,
        storage_key=key,
        source="upload",
        now=now,
        expires_at=now + rt.settings.media_retention,
    )
    try:
        return await rt.db.write(job)
    except BaseException:
        with contextlib.suppress(Exception):
            await store.delete(key)
        raise


async def access_media(rt: Runtime, org: Organization, raw_id: str) -> sql.MediaRow:
    """Live media of `org`; anything else (another organization's, deleted) answers as unknown."""
    media_id = _media_id(raw_id)
    row = None if media_id is None else await rt.db.read(lambda conn: sql.media_by_id(conn, media_id))
    if row is None or row.org_id != org.id or row.deleted_at is not None:
        raise unknown_object(raw_id)
    return row


async def describe_media(
    rt: Runtime, org: Organization, raw_id: str, phone_number_id: str | None, base_url: str
) -> dict[str, Any]:
    """Meta's answer to `GET /{version}/{media_id}`: a download URL valid five minutes and the facts."""
    row = await access_media(rt, org, raw_id)
    _check_number(row, phone_number_id)
    path = urls.download_path(urls.url_secret(rt.settings.home), row.id, rt.clock.now())
    return {
        "messaging_product": "whatsapp",
        "url": base_url.rstrip("/") + path,
        "mime_type": row.mime_type,
        "sha256": row.sha256,
        # A string, as in Meta's answers.
        "file_size": str(row.file_size),
        "id": str(row.id),
    }


async def do_delete(rt: Runtime, org: Organization, raw_id: str, phone_number_id: str | None) -> None:
    row = await access_media(rt, org, raw_id)
    _check_number(row, phone_number_id)
    key = await rt.db.write(sql.DeleteMedia(row.id, org.id, rt.clock.now()))
    if key is None:
        raise unknown_object(raw_id)
    if key:
        await media_store(rt.settings, rt.db.keys).delete(key)


async def download(
    rt: Runtime, org: Organization, raw_id: str, expires: str | None, sig: str | None
) -> tuple[bytes, str]:
    """The bytes and MIME type behind a download URL, for a token of the media's organization."""
    media_id = _media_id(raw_id)
    secret = urls.url_secret(rt.settings.home)
    if media_id is None or not urls.check_download(secret, media_id, expires, sig, rt.clock.now()):
        raise _gone()
    try:
        row = await access_media(rt, org, raw_id)
    except GraphError as exc:
        raise _gone() from exc
    try:
        row = await ensure_local(rt, row)
        return await media_store(rt.settings, rt.db.keys).read(row.storage_key), row.mime_type
    except UpstreamError as exc:
        raise GraphError(exc.code, exc.details) from exc
    except MediaNotStored as exc:
        raise _gone() from exc


def _gone() -> GraphError:
    # One answer for expired, forged, another organization's and deleted: nothing to learn from it.
    return GraphError(
        100,
        "The media URL has expired or is not valid for this token: "
        "get a new one with GET /{version}/{media_id}.",
        http_status=404,
    )


def _media_id(raw_id: str) -> int | None:
    return int(raw_id) if raw_id.isdigit() and len(raw_id) < 19 else None


def _check_number(row: sql.MediaRow, phone_number_id: str | None) -> None:
    if phone_number_id is not None and phone_number_id != str(row.phone_number_id):
        raise GraphError(
            100, f"Media {row.id} does not belong to phone number {phone_number_id}.", http_status=400
        )


async def check_send_media(rt: Runtime, org: Organization, refs: Sequence[MediaRef]) -> None:
    """Every media id of a send names live media of `org` of a fitting type; every link may be fetched."""
    by_id: dict[int, MediaRef] = {}
    for ref in refs:
        if ref.id is not None:
            media_id = _media_id(ref.id)
            if media_id is None:
                raise GraphError(131053, f"{ref.path}.id: no media with id {ref.id} in this account")
            by_id[media_id] = ref
        elif ref.link is not None:
            try:
                check_url(ref.link, allow_private=rt.settings.allow_private_targets)
            except UnsafeTarget as exc:
                raise GraphError(131053, f"{ref.path}.link: {exc}") from None
    if not by_id:
        return
    found = await rt.db.read(lambda conn: sql.live_media(conn, org.id, by_id))
    for media_id, ref in by_id.items():
        row = found.get(media_id)
        if row is None:
            raise GraphError(131053, f"{ref.path}.id: no media with id {ref.id} in this account")
        if not rules.sendable_as(ref.kind, row.mime_type):
            raise GraphError(
                131053,
                f"{ref.path}.id: media {ref.id} is {row.mime_type}, which cannot be sent as {ref.kind}",
            )


async def ensure_local(rt: Runtime, row: sql.MediaRow) -> sql.MediaRow:
    """The media with its bytes in wagate's store, fetching inbound media from its upstream if need be."""
    if row.downloaded:
        return row
    upstream_id = await rt.db.read(lambda conn: sql.upstream_media_id(conn, row.id, row.phone_number_id))
    number = await rt.db.read(lambda conn: tenancy_sql.number_by_id(conn, row.phone_number_id))
    upstream = None if number is None else rt.upstreams.get(number.upstream)
    if upstream_id is None or number is None or upstream is None:
        raise UpstreamError(131052, f"media {row.id}: its number's upstream is not available")
    ref = number.ref
    data, mime = await upstream.download_media(ref, upstream_id)
    mime = rules.base_mime(mime) if mime else row.mime_type
    store = media_store(rt.settings, rt.db.keys)
    key = new_key()
    await store.put(key, data)
    filled = await rt.db.write(sql.FillInboundMedia(row.id, key, mime, await sha256_hex(data), len(data)))
    if not filled:
        # Someone else stored it first (or it was deleted meanwhile): theirs stands.
        await store.delete(key)
    fresh = await rt.db.read(lambda conn: sql.media_by_id(conn, row.id))
    if fresh is None or fresh.deleted_at is not None or not fresh.downloaded:
        raise UpstreamError(131052, f"media {row.id} was deleted")
    return fresh
