"""Webhook signatures: Meta's `X-Hub-Signature-256` and Standard Webhooks' `webhook-signature`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

STANDARD_SECRET_PREFIX = "whsec_"


def hub_signature(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of the raw body keyed with the app secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_hub_signature(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not secret:
        return False
    return hmac.compare_digest(hub_signature(secret, body), header.strip())


def new_standard_secret() -> str:
    return STANDARD_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _standard_key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(STANDARD_SECRET_PREFIX))


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64>`: HMAC-SHA256 of `<id>.<timestamp>.<body>` keyed with the secret's bytes."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_standard_key(secret), signed, hashlib.sha256).digest()).decode()


def verify_standard_signature(secret: str, message_id: str, timestamp: int, body: bytes, header: str) -> bool:
    expected = standard_signature(secret, message_id, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in header.split())
