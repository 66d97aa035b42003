"""The message status machine: accepted → sent → delivered → read (→ played), or failed.

Statuses only move forward. A status that arrives late (delivered after read) is kept in the history
with its time but does not move the message back. `failed` can follow `accepted` or `sent` (Meta
reports delivery failures after `sent`), never a message already delivered or read.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    ACCEPTED = "accepted"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    FAILED = "failed"
    RECEIVED = "received"  # inbound messages

    @classmethod
    def parse(cls, value: str) -> Status | None:
        try:
            return cls(value)
        except ValueError:
            return None


_RANK = {
    Status.ACCEPTED: 0,
    Status.SENT: 1,
    Status.DELIVERED: 2,
    Status.READ: 3,
    Status.PLAYED: 4,
}


def advances(current: Status, new: Status) -> bool:
    """Whether `new` moves a message currently at `current` forward."""
    if current == Status.FAILED:
        return False
    if new == Status.FAILED:
        return _RANK.get(current, 0) < _RANK[Status.DELIVERED]
    return _RANK.get(new, -1) > _RANK.get(current, 0)


def resulting_status(current: Status, incoming: list[Status]) -> Status:
    """The status after applying `incoming` statuses in any order."""
    result = current
    for status in sorted(incoming, key=lambda s: _RANK.get(s, 10)):
        if advances(result, status):
            result = status
    return result
