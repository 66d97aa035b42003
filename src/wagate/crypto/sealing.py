"""Seal and open values with AES-GCM: text as `wgs1:<key id>:<base64(nonce | ciphertext+tag)>`, bytes
the same with the payload raw.

A sealed value names the key that sealed it, so values sealed with an old key keep opening during a
rotation. The associated data binds it to where it is stored (`table.column`): a value copied to
another column does not open. A value without the prefix was written before encryption and is
returned as it is, until `wagate keys rotate` seals it.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidTag

from wagate.crypto.errors import OpenError
from wagate.crypto.keys import KeyRing

PREFIX = "wgs1:"
_PREFIX_BYTES = PREFIX.encode()
NONCE_BYTES = 12


def seal(ring: KeyRing, value: str, where: str) -> str:
    """`value` sealed with the current key, bound to `where`."""
    key = ring.current
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = key.aead.encrypt(nonce, value.encode(), where.encode())
    return f"{PREFIX}{key.id}:{base64.b64encode(nonce + sealed).decode()}"


def open_(ring: KeyRing, value: str, where: str) -> str:
    """The clear text of a value `seal` made for `where`; a value without the prefix as it is."""
    if not value.startswith(PREFIX):
        return value
    key_id, sep, encoded = value[len(PREFIX) :].partition(":")
    if not sep:
        raise OpenError(key_id, where)
    key = ring.get(key_id, where)
    try:
        raw = base64.b64decode(encoded, validate=True)
        return key.aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], where.encode()).decode()
    except (InvalidTag, binascii.Error, ValueError) as exc:
        raise OpenError(key_id, where) from exc


def seal_bytes(ring: KeyRing, value: bytes, where: str) -> bytes:
    key = ring.current
    nonce = secrets.token_bytes(NONCE_BYTES)
    return b"%s%s:%s%s" % (
        _PREFIX_BYTES,
        key.id.encode(),
        nonce,
        key.aead.encrypt(nonce, value, where.encode()),
    )


def open_bytes(ring: KeyRing, value: bytes, where: str) -> bytes:
    if not value.startswith(_PREFIX_BYTES):
        return value
    key_id_raw, sep, raw = value[len(_PREFIX_BYTES) :].partition(b":")
    key_id = key_id_raw.decode(errors="replace")
    if not sep:
        raise OpenError(key_id, where)
    key = ring.get(key_id, where)
    try:
        return key.aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], where.encode())
    except (InvalidTag, ValueError) as exc:
        raise OpenError(key_id, where) from exc


def key_id_of(value: str | bytes) -> str | None:
    """The id of the key that sealed `value`; None for a value in clear."""
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    if not text.startswith(PREFIX):
        return None
    return text[len(PREFIX) :].partition(":")[0]
