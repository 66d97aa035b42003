"""The encryption keys of a process, from its settings (docs/decisions/0008-encryption-at-rest.md)."""

from __future__ import annotations

import logging

from wagate.crypto.keys import KeyRing, load_key_ring
from wagate.settings import Settings
from wagate.store.db import Database

log = logging.getLogger(__name__)


def encryption_keys(settings: Settings) -> KeyRing:
    """The ring of `WAGATE_ENCRYPTION_KEYS`; on SQLite without it, the one in `home/keys` (created on
    first use, and said so: it must be backed up with the database)."""
    ring, created = load_key_ring(
        settings.encryption_keys, settings.home, settings.db_url.startswith("sqlite")
    )
    if created is not None:
        log.warning(
            "created encryption key %r in %s (mode 0600): back it up with the database; without it the "
            "messages and secrets stored cannot be read",
            ring.current.id,
            created,
        )
    return ring


def open_database(settings: Settings) -> Database:
    """The database with the settings' keys (not started, not migrated)."""
    return Database(settings.db_url, encryption_keys(settings))
