"""Identifiers: numeric Graph ids, `wamid.` message ids, API tokens."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import time

MAX_ID = 2**63 - 1  # the largest a BIGINT column holds


def parse_id(raw: str) -> int | None:
    """The id a path or a query names, or None when `raw` is not one: ASCII digits only (no sign,
    spaces or underscores, which int() would take) and small enough for the database's BIGINT."""
    if not raw or len(raw) > 19 or not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if value <= MAX_ID else None


def new_graph_id() -> int:
    """A 15-digit id in the shape of Meta's object ids (callers insert it under a unique key)."""
    return 100_000_000_000_000 + secrets.randbelow(900_000_000_000_000)


def new_wamid(prefix: bytes = b"WG") -> str:
    """A `wamid.` message id: base64 of a prefix, a millisecond time and random bytes.

    Time-ordered so that ids created close together sort together in an index.
    """
    raw = prefix + int(time.time() * 1000).to_bytes(6, "big") + os.urandom(12)
    return "wamid." + base64.urlsafe_b64encode(raw).decode().rstrip("=")


TOKEN_PREFIX = "wgt_"


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens are random with 256 bits of entropy, so one round of SHA-256 is the right hash."""
    return hashlib.sha256(token.encode()).hexdigest()
