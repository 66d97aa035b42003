"""The key ring: `WAGATE_ENCRYPTION_KEYS` parsed, and the keys file a single SQLite deployment keeps.

The setting is a comma-separated list of `id:base64key` (32-byte keys). The first key seals; every key
opens the values it sealed, so an old key stays listed until `wagate keys rotate` has moved its values.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wagate.crypto.errors import KeyConfigError, UnknownKeyError

KEY_BYTES = 32
KEYS_FILE = "keys"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@dataclass(frozen=True, slots=True)
class Key:
    id: str
    secret: bytes = field(repr=False)
    aead: AESGCM = field(repr=False, compare=False)
    # The blind index's key: derived, so an index token never reveals anything about the sealing key.
    index_secret: bytes = field(repr=False, compare=False)

    @classmethod
    def of(cls, key_id: str, secret: bytes) -> Key:
        index_secret = hmac.new(secret, b"wagate blind index v1", hashlib.sha256).digest()
        return cls(key_id, secret, AESGCM(secret), index_secret)


@dataclass(frozen=True, slots=True)
class KeyRing:
    keys: tuple[Key, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyConfigError("the key ring is empty")

    @property
    def current(self) -> Key:
        return self.keys[0]

    @property
    def ids(self) -> list[str]:
        return [key.id for key in self.keys]

    def get(self, key_id: str, where: str = "") -> Key:
        for key in self.keys:
            if key.id == key_id:
                return key
        raise UnknownKeyError(key_id, where)


def parse_keys(text: str) -> KeyRing:
    """The ring described by `id:base64key[,id:base64key...]`; the first key is the current one."""
    keys: list[Key] = []
    for position, part in enumerate((p.strip() for p in text.split(",")), start=1):
        if not part:
            continue
        key_id, sep, encoded = part.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise KeyConfigError(
                f"WAGATE_ENCRYPTION_KEYS entry {position} is not `id:base64key` with an id of letters, "
                "digits, '-' or '_' (create one with `wagate keys generate`)"
            )
        try:
            secret = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise KeyConfigError(f"encryption key {key_id!r} is not valid base64") from exc
        if len(secret) != KEY_BYTES:
            raise KeyConfigError(f"encryption key {key_id!r} has {len(secret)} bytes; it needs {KEY_BYTES}")
        if any(key.id == key_id for key in keys):
            raise KeyConfigError(f"encryption key id {key_id!r} is listed twice")
        keys.append(Key.of(key_id, secret))
    if not keys:
        raise KeyConfigError("WAGATE_ENCRYPTION_KEYS is empty")
    return KeyRing(tuple(keys))


def new_key_line(key_id: str | None = None) -> str:
    """A new random key as `id:base64key`; the id defaults to a short random one."""
    key_id = key_id or f"k{secrets.token_hex(4)}"
    if not _KEY_ID.match(key_id):
        raise KeyConfigError("a key id is 1 to 32 letters, digits, '-' or '_'")
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def load_key_ring(configured: str, home: Path, on_sqlite: bool) -> tuple[KeyRing, Path | None]:
    """The ring from the setting; on SQLite without it, from `home/keys`, created on first use.

    Returns the ring and the path of the keys file if this call created it. PostgreSQL serves several
    processes, possibly on several machines, which must all hold the same key: there the setting is
    required rather than a file one process would create alone.
    """
    if configured.strip():
        return parse_keys(configured), None
    if not on_sqlite:
        raise KeyConfigError(
            "WAGATE_ENCRYPTION_KEYS is not set: on PostgreSQL every wagate process needs the same "
            "encryption key. Create one with `wagate keys generate` and give it to every process."
        )
    path = home / KEYS_FILE
    if path.exists():
        return parse_keys(path.read_text()), None
    home.mkdir(parents=True, exist_ok=True)
    line = new_key_line()
    # O_EXCL: two processes starting at once must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return parse_keys(path.read_text()), None
    with os.fdopen(fd, "w") as out:
        out.write(line + "\n")
    return parse_keys(line), path
