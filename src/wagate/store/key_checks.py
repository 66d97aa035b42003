"""The start-up check of the encryption keys against the database they must open.

`key_checks` holds, per key that may have sealed values here, a known value sealed with it. Opening
each with the configured ring finds a missing or wrong key before anything is written with it, rather
than garbage or failures later.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select

from wagate.crypto import sealing
from wagate.crypto.errors import KeyConfigError, OpenError, UnknownKeyError
from wagate.store.db import Database, Job
from wagate.store.schema import key_checks
from wagate.store.sealed import keys_of

_KNOWN = "wagate key check"


def _where(key_id: str) -> str:
    return f"key_checks.{key_id}"


@dataclass(slots=True)
class CheckKeys(Job[list[str]]):
    """Open every key's known value; record one for the current key if it is new. Returns the ids of
    the keys the database holds values of."""

    now: float

    def run(self, conn: Connection) -> list[str]:
        ring = keys_of(conn)
        rows = conn.execute(select(key_checks.c.key_id, key_checks.c.sealed)).all()
        for key_id, value in rows:
            try:
                opened = sealing.open_(ring, value, _where(key_id))
            except UnknownKeyError as exc:
                raise KeyConfigError(
                    f"this database holds values sealed with encryption key {key_id!r}, which "
                    f"WAGATE_ENCRYPTION_KEYS does not list (it lists {', '.join(ring.ids)}): add it back "
                    "after the current key"
                ) from exc
            except OpenError as exc:
                raise KeyConfigError(
                    f"encryption key {key_id!r} in WAGATE_ENCRYPTION_KEYS is wrong: it is not the key "
                    f"{key_id!r} that sealed this database's values"
                ) from exc
            if opened != _KNOWN:
                raise KeyConfigError(f"the check value of encryption key {key_id!r} is not the expected one")
        held = [str(key_id) for key_id, _ in rows]
        if ring.current.id not in held:
            conn.execute(
                insert(key_checks).values(
                    key_id=ring.current.id,
                    sealed=sealing.seal(ring, _KNOWN, _where(ring.current.id)),
                    created_at=self.now,
                )
            )
            held.append(ring.current.id)
        return held


@dataclass(slots=True)
class ForgetKey(Job[None]):
    """The database holds no value sealed with `key_id` any more: it need not be configured."""

    key_id: str

    def run(self, conn: Connection) -> None:
        conn.execute(delete(key_checks).where(key_checks.c.key_id == self.key_id))


def check_keys(db: Database, now: float) -> list[str]:
    """Raise `KeyConfigError` naming the key unless the configured keys open this database's values."""
    return db.write_now(CheckKeys(now))
