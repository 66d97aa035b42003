"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): the second factor of operator login.

Codes are SHA-1, 30-second steps and 6 digits, as every authenticator app expects. A code is accepted one
step either side of now, and never twice: the caller stores the step of the last accepted code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1  # steps accepted either side of now, for clocks that drift and codes typed slowly
SECRET_BYTES = 20  # 160 bits, as RFC 4226 recommends for SHA-1


def new_secret() -> str:
    """A random secret in base32 without padding, as authenticator apps take it."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


def secret_bytes(secret: str) -> bytes:
    cleaned = secret.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def step_at(t: float) -> int:
    return int(t // STEP_SECONDS)


def hotp(key: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226: HMAC-SHA-1 of the counter, dynamically truncated to `digits` decimal digits."""
    mac = hmac.new(key, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def code_at(secret: str, t: float, digits: int = DIGITS) -> str:
    """The code an authenticator app shows at time `t`."""
    return hotp(secret_bytes(secret), step_at(t), digits)


def verify(
    secret: str, code: str, t: float, *, last_step: int | None = None, digits: int = DIGITS
) -> int | None:
    """The step a valid `code` belongs to (to store as the last one used), or None.

    A code of a step at or before `last_step` is refused, so a code seen over a shoulder cannot be
    used again, even within its 30 seconds."""
    code = code.strip()
    if len(code) != digits or not code.isdigit():
        return None
    key = secret_bytes(secret)
    now_step = step_at(t)
    for step in range(now_step - WINDOW, now_step + WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(hotp(key, step, digits), code):
            return step
    return None


def provisioning_uri(secret: str, account: str, issuer: str = "wagate") -> str:
    """The `otpauth://` URI an authenticator app scans from a QR code."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": STEP_SECONDS}
    )
    return f"otpauth://totp/{label}?{query}"
