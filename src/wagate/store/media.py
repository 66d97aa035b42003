"""Media objects and their upstream copies: writes and reads.

A `media` row is a Graph object (its id resolves through `/{version}/{id}`). Its bytes live in the
media store under `storage_key`; an empty key means inbound media not downloaded yet. `media_upstream`
maps a media object to the upstream's id for it on one business number: recorded when wagate uploads
it there, or when it arrives in a customer's message.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, insert, select, update

from wagate.store.db import Job
from wagate.store.schema import media, media_upstream
from wagate.store.sql import insert_ignore
from wagate.store.tenancy import allocate_graph_id


@dataclass(frozen=True, slots=True)
class MediaRow:
    id: int
    org_id: int
    phone_number_id: int
    mime_type: str
    sha256: str
    file_size: int
    filename: str | None
    storage_key: str
    source: str
    created_at: float
    deleted_at: float | None

    @property
    def downloaded(self) -> bool:
        return bool(self.storage_key)


@dataclass(frozen=True, slots=True)
class PendingInbound:
    """Inbound media still to fetch from the upstream of the number it arrived on."""

    media: MediaRow
    upstream_media_id: str


def _row(row: Any) -> MediaRow:
    return MediaRow(
        id=int(row.id),
        org_id=int(row.org_id),
        phone_number_id=int(row.phone_number_id),
        mime_type=row.mime_type,
        sha256=row.sha256,
        file_size=int(row.file_size),
        filename=row.filename,
        storage_key=row.storage_key,
        source=row.source,
        created_at=float(row.created_at),
        deleted_at=row.deleted_at,
    )


# -- writes -----------------------------------------------------------------------------------------
@dataclass(slots=True)
class CreateMedia(Job[int]):
    """A stored file becomes a media object; returns its Graph id."""

    org_id: int
    phone_number_id: int
    mime_type: str
    sha256: str
    file_size: int
    filename: str | None
    storage_key: str
    source: str
    now: float
    expires_at: float | None

    def run(self, conn: Connection) -> int:
        media_id = allocate_graph_id(conn, "media", self.org_id)
        conn.execute(
            insert(media).values(
                id=media_id,
                org_id=self.org_id,
                phone_number_id=self.phone_number_id,
                mime_type=self.mime_type,
                sha256=self.sha256,
                file_size=self.file_size,
                filename=self.filename,
                storage_key=self.storage_key,
                source=self.source,
                created_at=self.now,
                expires_at=self.expires_at,
            )
        )
        return media_id


@dataclass(slots=True)
class DeleteMedia(Job[str | None]):
    """Mark a live media object of `org_id` deleted; returns its storage key ("" if never stored),
    or None when there was nothing to delete."""

    media_id: int
    org_id: int
    now: float

    def run(self, conn: Connection) -> str | None:
        key = conn.execute(
            select(media.c.storage_key).where(
                media.c.id == self.media_id, media.c.org_id == self.org_id, media.c.deleted_at.is_(None)
            )
        ).scalar_one_or_none()
        if key is None:
            return None
        conn.execute(update(media).where(media.c.id == self.media_id).values(deleted_at=self.now))
        return str(key)


@dataclass(slots=True)
class RecordUpstreamMedia(Job[None]):
    media_id: int
    phone_number_id: int
    upstream_media_id: str
    now: float

    def run(self, conn: Connection) -> None:
        conn.execute(
            insert_ignore(conn, media_upstream).values(
                media_id=self.media_id,
                phone_number_id=self.phone_number_id,
                upstream_media_id=self.upstream_media_id,
                created_at=self.now,
            )
        )


@dataclass(slots=True)
class FillInboundMedia(Job[bool]):
    """Record the downloaded bytes of inbound media; False if another download got there first."""

    media_id: int
    storage_key: str
    mime_type: str
    sha256: str
    file_size: int

    def run(self, conn: Connection) -> bool:
        result = conn.execute(
            update(media)
            .where(media.c.id == self.media_id, media.c.storage_key == "", media.c.deleted_at.is_(None))
            .values(
                storage_key=self.storage_key,
                mime_type=self.mime_type,
                sha256=self.sha256,
                file_size=self.file_size,
            )
        )
        return bool(result.rowcount)


@dataclass(slots=True)
class GiveUpInboundMedia(Job[bool]):
    """Inbound media the upstream would not hand over in time: it is gone, as on Meta after 7 days."""

    media_id: int
    now: float

    def run(self, conn: Connection) -> bool:
        result = conn.execute(
            update(media)
            .where(media.c.id == self.media_id, media.c.storage_key == "", media.c.deleted_at.is_(None))
            .values(deleted_at=self.now)
        )
        return bool(result.rowcount)


def record_inbound_media(
    conn: Connection,
    org_id: int,
    phone_number_id: int,
    upstream_media_id: str,
    mime_type: str,
    sha256: str,
    now: float,
    *,
    filename: str | None = None,
) -> int:
    """The wagate media id for media a customer sent, created pending download on first sight.

    For the ingest transaction: inbound events can repeat, so the same (number, upstream id) always
    answers with the same media id.
    """
    known = conn.execute(
        select(media_upstream.c.media_id).where(
            media_upstream.c.phone_number_id == phone_number_id,
            media_upstream.c.upstream_media_id == upstream_media_id,
        )
    ).scalar_one_or_none()
    if known is not None:
        return int(known)
    media_id = CreateMedia(
        org_id=org_id,
        phone_number_id=phone_number_id,
        mime_type=mime_type,
        sha256=sha256,
        file_size=0,
        filename=filename,
        storage_key="",
        source="inbound",
        now=now,
        expires_at=None,
    ).run(conn)
    RecordUpstreamMedia(media_id, phone_number_id, upstream_media_id, now).run(conn)
    return media_id


# -- reads ------------------------------------------------------------------------------------------
def media_by_id(conn: Connection, media_id: int) -> MediaRow | None:
    row = conn.execute(select(media).where(media.c.id == media_id)).first()
    return None if row is None else _row(row)


def live_media(conn: Connection, org_id: int, ids: Collection[int]) -> dict[int, MediaRow]:
    """The media objects of `org_id` among `ids` that are not deleted."""
    rows = conn.execute(
        select(media).where(media.c.id.in_(list(ids)), media.c.org_id == org_id, media.c.deleted_at.is_(None))
    )
    return {int(row.id): _row(row) for row in rows}


def media_for_number(
    conn: Connection, phone_number_id: int, ids: Collection[int]
) -> dict[int, tuple[MediaRow, str | None]]:
    """Media among `ids`, each with the upstream's id for it on `phone_number_id` when it has one."""
    rows = conn.execute(
        select(media, media_upstream.c.upstream_media_id)
        .outerjoin(
            media_upstream,
            and_(
                media_upstream.c.media_id == media.c.id,
                media_upstream.c.phone_number_id == phone_number_id,
            ),
        )
        .where(media.c.id.in_(list(ids)))
    )
    return {int(row.id): (_row(row), row.upstream_media_id) for row in rows}


def upstream_media_id(conn: Connection, media_id: int, phone_number_id: int) -> str | None:
    found = conn.execute(
        select(media_upstream.c.upstream_media_id).where(
            media_upstream.c.media_id == media_id, media_upstream.c.phone_number_id == phone_number_id
        )
    ).scalar_one_or_none()
    return None if found is None else str(found)


def pending_inbound(conn: Connection, limit: int) -> list[PendingInbound]:
    """Inbound media not downloaded yet, oldest first."""
    rows = conn.execute(
        select(media, media_upstream.c.upstream_media_id)
        .join(
            media_upstream,
            and_(
                media_upstream.c.media_id == media.c.id,
                media_upstream.c.phone_number_id == media.c.phone_number_id,
            ),
        )
        .where(media.c.source == "inbound", media.c.storage_key == "", media.c.deleted_at.is_(None))
        .order_by(media.c.created_at)
        .limit(limit)
    )
    return [PendingInbound(_row(row), str(row.upstream_media_id)) for row in rows]
