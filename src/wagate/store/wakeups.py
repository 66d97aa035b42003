"""Wake-ups across processes: a transaction that queues messages tells every worker which numbers have
new work, through PostgreSQL's NOTIFY.

The notification is part of the transaction: PostgreSQL delivers it when the transaction commits and
drops it when it rolls back, so a worker is never woken for a message it cannot see yet. On SQLite
there is one process and nothing to tell; its dispatcher is woken in-process.

Wake-ups only shorten the wait: a worker that misses one (it was reconnecting) finds the work at its
next poll.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, text

CHANNEL = "wagate_outbox"
# PostgreSQL's payload limit is 8,000 bytes; 400 ids of up to 16 digits and a comma stay well inside.
_IDS_PER_NOTIFY = 400
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


def announce(conn: Connection, number_ids: Iterable[int]) -> None:
    """Tell the workers, when this transaction commits, that these numbers have messages due."""
    if conn.dialect.name != "postgresql":
        return
    ids = sorted(set(number_ids))
    for start in range(0, len(ids), _IDS_PER_NOTIFY):
        payload = ",".join(str(i) for i in ids[start : start + _IDS_PER_NOTIFY])
        conn.execute(_NOTIFY, {"channel": CHANNEL, "payload": payload})


def parse(payload: str) -> list[int]:
    """The number ids of one notification (what does not parse is ignored: wake-ups are hints)."""
    return [int(part) for part in payload.split(",") if part.strip().isdigit()]
