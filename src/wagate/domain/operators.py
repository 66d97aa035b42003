"""Operators, the people who log in: password hashing, what a valid e-mail and password are, and the
brake on guessing (so many failures in a while lock the operator out for a while)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# scrypt's cost: 16 MiB and some 50 ms per hash on a server core, too slow to try many guesses offline.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
KEY_BYTES = 32
SALT_BYTES = 16
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
MAX_EMAIL = 254

MAX_FAILURES = 5  # failed logins of one operator within FAILURE_WINDOW ...
FAILURE_WINDOW = 15 * 60.0
LOCKOUT_SECONDS = 15 * 60.0  # ... lock it out for this long


class CredentialError(ValueError):
    """An e-mail or password that cannot be used."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES, maxmem=64 * 1024**2)


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt$key`, with a new random salt: the parameters travel with the hash, so they can
    be raised later without breaking stored ones."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


# Checked against when the e-mail is unknown, so that an unknown operator costs as much time as a known one.
DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def check_email(raw: str) -> str:
    """The e-mail address, trimmed and lower-cased (it names the operator within the organization)."""
    email = raw.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or "@" in domain or len(email) > MAX_EMAIL or " " in email:
        raise CredentialError(f"{raw!r} is not an e-mail address")
    return email


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise CredentialError(f"a password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


def locked(locked_until: float | None, now: float) -> bool:
    return locked_until is not None and now < locked_until


def should_lock(recent_failures: int) -> bool:
    """After this failure (counted in `recent_failures`, those within FAILURE_WINDOW), lock the operator?"""
    return recent_failures >= MAX_FAILURES
