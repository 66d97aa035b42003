"""Errors of encryption at rest: a key missing, malformed or wrong, or a sealed value altered."""

from __future__ import annotations

from wagate.errors import WagateError


class EncryptionError(WagateError):
    """Base of the errors below: an operator's problem, never the API client's."""

    http_status = 500


class KeyConfigError(EncryptionError):
    """`WAGATE_ENCRYPTION_KEYS` (or the keys file) is missing or cannot be parsed."""


class UnknownKeyError(EncryptionError):
    """A value was sealed with a key id the ring does not hold."""

    def __init__(self, key_id: str, where: str = "") -> None:
        self.key_id = key_id
        at = f" (in {where})" if where else ""
        super().__init__(
            f"encryption key {key_id!r} is not configured{at}: values sealed with it cannot be opened; "
            "add it back to WAGATE_ENCRYPTION_KEYS (after the current key)"
        )


class OpenError(EncryptionError):
    """A sealed value did not open: the key with that id is not the one that sealed it, or the value
    was altered or copied from another column."""

    def __init__(self, key_id: str, where: str = "") -> None:
        self.key_id = key_id
        at = f" in {where}" if where else ""
        super().__init__(
            f"a value{at} sealed with encryption key {key_id!r} does not open: the configured key "
            f"{key_id!r} is wrong, or the value was altered"
        )
