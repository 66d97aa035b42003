"""At dispatch: wagate's media ids in a send become the upstream's ids for the sending number.

A media object is uploaded to a number's upstream the first time a message from that number uses it,
and the upstream's id is recorded, so a campaign sending one image to many customers uploads it once:
concurrent sends of the same media wait for the one upload in flight. Media sent by `link` passes
through untouched; the upstream fetches it, as Meta does.
"""

from __future__ import annotations

import asyncio
from typing import Any

from wagate.media import service
from wagate.media.rules import KINDS
from wagate.media.store import MediaNotStored, media_store
from wagate.services.runtime import Runtime
from wagate.store import media as sql
from wagate.upstreams.base import NumberRef, Upstream, UpstreamError

_KINDS = frozenset(KINDS)
_REMEMBERED_UPLOADS = 10_000


def media_ids(value: Any, found: set[str] | None = None) -> set[str]:
    """The `id` of every media object (top-level, header, template parameter, card) in a send body."""
    found = set() if found is None else found
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _KINDS and isinstance(item, dict) and isinstance(item.get("id"), str):
                found.add(item["id"])
            else:
                media_ids(item, found)
    elif isinstance(value, list):
        for item in value:
            media_ids(item, found)
    return found


def replace_media_ids(value: Any, mapping: dict[str, str]) -> Any:
    """A copy of `value` with each media object's `id` replaced through `mapping`."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in _KINDS and isinstance(item, dict) and isinstance(item.get("id"), str):
                out[key] = {**item, "id": mapping.get(item["id"], item["id"])}
            else:
                out[key] = replace_media_ids(item, mapping)
        return out
    if isinstance(value, list):
        return [replace_media_ids(item, mapping) for item in value]
    return value


class MediaTranslator:
    """Translates the media of one number's sends (one per dispatcher lane)."""

    def __init__(self, rt: Runtime, upstream: Upstream) -> None:
        self.rt = rt
        self.upstream = upstream
        self._uploads: dict[int, asyncio.Task[str]] = {}
        # Uploads finished since this send's database read: without it, a send that read before an
        # upload was recorded and asked after it finished would upload the same file again.
        self._uploaded: dict[int, str] = {}

    async def translate(self, number: NumberRef, payload: dict[str, Any]) -> dict[str, Any]:
        """`payload` with upstream media ids; UpstreamError (with Meta's code) if one cannot be had."""
        wanted = media_ids(payload)
        if not wanted:
            return payload
        ids = {int(raw) for raw in wanted if raw.isdigit()}
        found = await self.rt.db.read(lambda conn: sql.media_for_number(conn, number.id, ids))
        mapping: dict[str, str] = {}
        for raw in wanted:
            entry = found.get(int(raw)) if raw.isdigit() else None
            if entry is None or entry[0].deleted_at is not None:
                raise UpstreamError(131053, f"media {raw} was deleted or does not exist")
            row, upstream_id = entry
            mapping[raw] = upstream_id if upstream_id is not None else await self._upload(number, row)
        return dict(replace_media_ids(payload, mapping))

    async def _upload(self, number: NumberRef, row: sql.MediaRow) -> str:
        done = self._uploaded.get(row.id)
        if done is not None:
            return done
        task = self._uploads.get(row.id)
        if task is None:
            task = asyncio.create_task(self._do_upload(number, row), name=f"media-upload-{row.id}")
            self._uploads[row.id] = task
            task.add_done_callback(lambda done: self._forget(row.id, done))
        # Shielded: one send giving up must not cancel the upload the others wait for.
        return await asyncio.shield(task)

    def _forget(self, media_id: int, task: asyncio.Task[str]) -> None:
        self._uploads.pop(media_id, None)
        if not task.cancelled():
            task.exception()  # retrieved here so that a failure nobody waits for is not reported twice

    async def _do_upload(self, number: NumberRef, row: sql.MediaRow) -> str:
        rt = self.rt
        try:
            row = await service.ensure_local(rt, row)
            data = await media_store(rt.settings, rt.db.keys).read(row.storage_key)
            async with asyncio.timeout(rt.settings.send_timeout):
                upstream_id = await self.upstream.upload_media(number, data, row.mime_type, row.filename)
        except UpstreamError:
            raise
        except MediaNotStored as exc:
            raise UpstreamError(131053, f"media {row.id}: its file is no longer stored") from exc
        except TimeoutError as exc:
            raise UpstreamError(131000, f"media {row.id}: the upload timed out") from exc
        except Exception as exc:
            raise UpstreamError(131000, f"media {row.id}: the upload failed: {exc!r}") from exc
        await rt.db.write(sql.RecordUpstreamMedia(row.id, number.id, upstream_id, rt.clock.now()))
        if len(self._uploaded) >= _REMEMBERED_UPLOADS:
            self._uploaded.clear()
        self._uploaded[row.id] = upstream_id
        return upstream_id
