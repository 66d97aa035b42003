"""How far a consumer may read the event stream. Pure, no I/O.

Event ids are handed out when an event is inserted, not when its transaction commits: on PostgreSQL an
event with id 10 may become visible after the one with id 11. A consumer that moved its cursor past 11
would never see 10. So a consumer reads only up to the first gap in the ids; a gap that stays open
longer than a transaction can (a rolled-back insert, an erased contact's events) is passed after
`wait` seconds. SQLite's single writer commits ids in order, so there every id read is final.
"""

from __future__ import annotations

from collections.abc import Sequence

GAP_WAIT = 3.0


def readable(
    position: int,
    ids: Sequence[int],
    *,
    final: bool,
    gaps: dict[int, float],
    now: float,
    wait: float = GAP_WAIT,
) -> int:
    """How many of `ids` (the ids after `position`, ascending) may be handled now. `gaps` maps the first
    missing id of each gap to when it was first seen; it is kept by the caller between calls."""
    if final:
        gaps.clear()
        return len(ids)
    expected = position + 1
    for count, event_id in enumerate(ids):
        if event_id != expected:
            seen = gaps.setdefault(expected, now)
            if now - seen < wait:
                _forget_below(gaps, expected)  # the gaps before this one were passed
                return count
        expected = event_id + 1
    _forget_below(gaps, expected)
    return len(ids)


def _forget_below(gaps: dict[int, float], lowest: int) -> None:
    for start in [s for s in gaps if s < lowest]:
        del gaps[start]
