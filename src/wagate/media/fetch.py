"""Fetching a media link on a business's say-so: public addresses only, no redirects, bounded size.

Every failure is Meta's 131053 with `error_data.details` in words a business can act on ("could not
connect to cdn.example.com: name does not resolve"), never the reprs of aiohttp's exceptions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from wagate.errors import GraphError
from wagate.media import rules
from wagate.net.addresses import UnsafeTarget, check_url, safe_session
from wagate.net.failures import describe

FETCH_TIMEOUT = 30.0
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class LinkedFile:
    """What a fetch learned of the file behind a link: enough to judge it again as another kind."""

    mime_type: str
    size: int
    animated: bool  # an animated WebP (a sticker's limit depends on it)


async def fetch_link(
    url: str,
    *,
    max_bytes: int,
    allow_private: bool,
    check_type: Callable[[str], object] | None = None,
) -> tuple[bytes, str]:
    """The body and MIME type behind `url`; Meta's 131053 when it cannot or may not be fetched.

    `check_type` judges the response's MIME type before its body is read (and raises to refuse it).
    The size limit holds while the body streams in, whatever Content-Length claims. A redirect is
    refused rather than followed: its target would not pass through the address checks. The whole
    fetch, connecting and reading included, takes at most FETCH_TIMEOUT seconds; a caller wanting
    less wraps it in `asyncio.timeout` and words its TimeoutError with `timed_out`.
    """
    try:
        check_url(url, allow_private=allow_private)
        async with (
            safe_session(allow_private=allow_private, timeout=FETCH_TIMEOUT, limit=4) as session,
            session.get(url, allow_redirects=False) as response,
        ):
            if response.status != 200:
                raise GraphError(131053, f"Media link {url} answered HTTP {response.status}.")
            mime = rules.base_mime(response.headers.get("Content-Type", "application/octet-stream"))
            if check_type is not None:
                try:
                    check_type(mime)
                except GraphError as exc:
                    raise GraphError(131053, f"Media link {url}: {exc.details}") from None
            declared = response.content_length
            if declared is not None and declared > max_bytes:
                raise _too_large(url, max_bytes)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.content.iter_chunked(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(url, max_bytes)
                chunks.append(chunk)
    except UnsafeTarget as exc:
        raise GraphError(131053, f"Media link refused: {exc}") from exc
    except TimeoutError as exc:
        raise timed_out(url, FETCH_TIMEOUT) from exc
    except aiohttp.ClientError as exc:
        raise GraphError(131053, f"Media link {url}: {describe(exc)}.") from exc
    return b"".join(chunks), mime


async def fetch_media(url: str, kind: str, *, allow_private: bool) -> LinkedFile:
    """The file behind `url`, fetched as Meta fetches media sent by link as `kind` (image, sticker, ...):
    refused by its Content-Type before it is read unless it is of that kind, and beyond the kind's
    largest size while it streams in. `check_linked` then judges the whole file."""
    data, mime = await fetch_link(
        url,
        max_bytes=rules.largest(kind),
        allow_private=allow_private,
        check_type=lambda mime: rules.check_linked_type(kind, mime),
    )
    return LinkedFile(mime, len(data), rules.is_animated_webp(data))


def check_linked(kind: str, url: str, file: LinkedFile) -> None:
    """Whether a file already fetched from `url` may be sent as `kind`; 131053 naming the problem."""
    try:
        rules.check_linked_file(kind, file.mime_type, file.size, animated=file.animated)
    except GraphError as exc:
        raise GraphError(131053, f"Media link {url}: {exc.details}") from None


def timed_out(url: str, seconds: float) -> GraphError:
    return GraphError(131053, f"Media link {url}: no complete answer within {seconds:g} s.")


def _too_large(url: str, max_bytes: int) -> GraphError:
    return GraphError(131053, f"Media link {url} is larger than {max_bytes} bytes.")
