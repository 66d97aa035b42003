"""Fetching a media link on a business's say-so: public addresses only, no redirects, bounded size."""

from __future__ import annotations

import aiohttp

from wagate.errors import GraphError
from wagate.media.rules import base_mime
from wagate.net.addresses import UnsafeTarget, check_url, safe_session

FETCH_TIMEOUT = 30.0
_CHUNK = 64 * 1024


async def fetch_link(url: str, *, max_bytes: int, allow_private: bool) -> tuple[bytes, str]:
    """The body and MIME type behind `url`; Meta's 131053 when it cannot or may not be fetched.

    The size limit holds while the body streams in, whatever Content-Length claims. A redirect is
    refused rather than followed: its target would not pass through the address checks.
    """
    try:
        check_url(url, allow_private=allow_private)
        async with (
            safe_session(allow_private=allow_private, timeout=FETCH_TIMEOUT, limit=4) as session,
            session.get(url, allow_redirects=False) as response,
        ):
            if response.status != 200:
                raise GraphError(131053, f"Media link {url} answered HTTP {response.status}.")
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
            mime = base_mime(response.headers.get("Content-Type", "application/octet-stream"))
    except UnsafeTarget as exc:
        raise GraphError(131053, f"Media link refused: {exc}") from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise GraphError(131053, f"Media link {url} could not be fetched: {exc!r}") from exc
    return b"".join(chunks), mime


def _too_large(url: str, max_bytes: int) -> GraphError:
    return GraphError(131053, f"Media link {url} is larger than {max_bytes} bytes.")
