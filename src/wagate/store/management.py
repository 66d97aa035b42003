"""Changes to an organization's setup carry who made them and when; each writes its audit entry in
its own transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from wagate.domain.access import Actor
from wagate.store import audit


@dataclass(frozen=True, slots=True)
class Stamp:
    """Who made a change, and when."""

    actor: Actor
    at: float


def record_change(
    conn: Connection,
    org_id: int,
    by: Stamp,
    action: str,
    target_type: str,
    target_id: int,
    detail: dict[str, Any] | None = None,
) -> None:
    """The audit entry of a change, written with it. `detail` never holds a secret."""
    audit.record(conn, org_id, by.actor.name, action, target_type, target_id, detail, by.actor.ip, at=by.at)
