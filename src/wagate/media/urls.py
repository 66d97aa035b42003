"""Download URLs for media: signed with an expiry, as Meta's expire after five minutes.

The signature proves wagate issued the URL for this media object and until when; the bearer token
is still required to download, so a leaked URL alone gives nothing. The key is per deployment,
created on first use under the home directory and shared by every process of the deployment.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

URL_LIFETIME = 300.0
DOWNLOAD_PREFIX = "/v1/media/download/"
_SECRET_FILE = "media-url.key"
_SECRET_BYTES = 32

_secrets: dict[Path, bytes] = {}


def url_secret(home: Path) -> bytes:
    """The deployment's signing key, created atomically the first time any process asks."""
    path = home / _SECRET_FILE
    cached = _secrets.get(path)
    if cached is not None:
        return cached
    try:
        secret = path.read_bytes()
    except FileNotFoundError:
        secret = _create_secret(path)
    if len(secret) != _SECRET_BYTES:
        raise RuntimeError(
            f"{path} is not a media URL key ({len(secret)} bytes); remove it to make a new one"
        )
    _secrets[path] = secret
    return secret


def _create_secret(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_bytes(_SECRET_BYTES))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # A hard link fails if the name exists: of two processes racing, both end up with the winner's key.
        os.link(temp, path)
    except FileExistsError:
        pass
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()
    return path.read_bytes()


def signature(secret: bytes, media_id: int, expires: int) -> str:
    return hmac.new(secret, f"media:{media_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def download_path(secret: bytes, media_id: int, now: float) -> str:
    """The path and query of a download URL valid for `URL_LIFETIME` seconds from `now`."""
    expires = int(now + URL_LIFETIME)
    return f"{DOWNLOAD_PREFIX}{media_id}?expires={expires}&sig={signature(secret, media_id, expires)}"


def check_download(secret: bytes, media_id: int, expires: str | None, sig: str | None, now: float) -> bool:
    """True when the URL's signature is wagate's for this media id and it has not expired."""
    if not expires or not sig or not expires.isdigit():
        return False
    if int(expires) < now:
        return False
    return hmac.compare_digest(signature(secret, media_id, int(expires)), sig)
