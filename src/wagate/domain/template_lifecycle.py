"""A template's life after creation (reference section 5.3): deletion and its name hold, the creation
and edit rate limits, quality and pausing. Pure, no I/O.

The reference names no error code for a held name, an hourly creation limit or an edit limit; the
closest documented codes are used and each place says which and why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from wagate.errors import GraphError

HOUR = 3600.0
DAY = 24 * HOUR

# Deleting: an approved template's name stays taken this long; a disabled template cannot be deleted.
NAME_HOLD = 30 * DAY
# Statuses whose deletion holds the name (a paused template is an approved one, paused for a while).
HOLDS_NAME = frozenset({"APPROVED", "PAUSED"})
UNDELETABLE = frozenset({"DISABLED"})

CREATIONS_PER_HOUR = 100  # per business account

# Edits of an APPROVED template: one per 24 hours and ten per 30 days; REJECTED/PAUSED: unlimited.
EDIT_WINDOW = 30 * DAY
EDITS_PER_WINDOW = 10
EDIT_SPACING = DAY

QUALITY_SCORES = frozenset({"GREEN", "YELLOW", "RED", "UNKNOWN"})
# A template rated RED is paused: the first time for 3 hours, the second for 6; the third disables it.
PAUSE_PERIODS = (3 * HOUR, 6 * HOUR)
_PAUSE_TITLES = ("FIRST_PAUSE", "SECOND_PAUSE")


def _error(code: int, title: str, details: str) -> GraphError:
    return GraphError(code, details, message=f"(#{code}) {title}", http_status=400)


# -- deletion ---------------------------------------------------------------------------------------
def deleted_status(status: str) -> str:
    """What deleting a template in `status` leaves: PENDING_DELETION (the row stays, holding the name,
    and can no longer be sent) for an approved one, DELETED (the row goes) for any other."""
    return "PENDING_DELETION" if status in HOLDS_NAME else "DELETED"


def check_deletable(name: str, statuses: Iterable[tuple[str, str]]) -> None:
    """Refuse to delete `name` when one of its (language, status) is DISABLED."""
    for language, status in statuses:
        if status in UNDELETABLE:
            raise _error(
                100, "Invalid parameter", f"name: {name} in {language} is {status}; it cannot be deleted"
            )


def name_held(name: str, held_until: float) -> GraphError:
    # The reference gives no code for a name deleted less than 30 days ago; 100 (invalid parameter,
    # as for a duplicate name) is the closest documented one.
    return _error(
        100,
        "Invalid parameter",
        f"name: {name} was deleted recently and cannot be used again until {int(held_until)} "
        "(30 days after its deletion); create the template under another name",
    )


# -- creation rate ----------------------------------------------------------------------------------
def creation_limit_reached(limit: int = CREATIONS_PER_HOUR) -> GraphError:
    # The reference states the hourly limit but not its code; 80007 (the business account's rate
    # limit for management calls, retried later) is the closest documented one.
    return _error(
        80007, "Rate limit issues", f"message_templates: at most {limit} templates may be created per hour"
    )


# -- edits ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EditAllowance:
    """Whether an edit may go ahead, and the approved-edit times to keep if it does."""

    allowed: bool
    edit_times: list[float]
    details: str = ""


def edit_allowance(status: str, edit_times: Iterable[float], now: float) -> EditAllowance:
    """May a template in `status`, edited while approved at `edit_times`, be edited at `now`?"""
    recent = sorted(t for t in edit_times if t > now - EDIT_WINDOW)
    if status != "APPROVED":
        return EditAllowance(True, recent)
    if recent and recent[-1] > now - EDIT_SPACING:
        return EditAllowance(
            False,
            recent,
            "an approved template may be edited once in 24 hours; "
            f"the next edit is possible at {int(recent[-1] + EDIT_SPACING)}",
        )
    if len(recent) >= EDITS_PER_WINDOW:
        return EditAllowance(
            False,
            recent,
            f"an approved template may be edited {EDITS_PER_WINDOW} times in 30 days; "
            f"the next edit is possible at {int(recent[0] + EDIT_WINDOW)}",
        )
    return EditAllowance(True, [*recent, now])


def edit_limit_reached(details: str) -> GraphError:
    # The reference gives no code for the edit limits; 100 (invalid parameter) is the closest one.
    return _error(100, "Invalid parameter", f"components: {details}")


# -- quality and pausing ----------------------------------------------------------------------------
def check_quality_score(value: object) -> str:
    score = value.upper() if isinstance(value, str) else ""
    if score not in QUALITY_SCORES:
        raise _error(100, "Invalid parameter", f"score: must be one of {', '.join(sorted(QUALITY_SCORES))}")
    return score


@dataclass(frozen=True, slots=True)
class Pause:
    """What a RED rating does to an approved template that was paused `pause_count - 1` times before."""

    status: str  # PAUSED | DISABLED
    pause_count: int
    until: float | None  # when a PAUSED template is approved again
    title: str  # `other_info.title` of the status event


def pause_for_quality(status: str, score: str, pauses_before: int, now: float) -> Pause | None:
    """The pause a quality update brings, or None (only an APPROVED template rated RED is paused)."""
    if status != "APPROVED" or score != "RED":
        return None
    count = pauses_before + 1
    if count > len(PAUSE_PERIODS):
        return Pause("DISABLED", count, None, "DISABLED")
    return Pause("PAUSED", count, now + PAUSE_PERIODS[count - 1], _PAUSE_TITLES[count - 1])


def pause_info(pause: Pause, now: float) -> dict[str, object]:
    """The `other_info` (and for a disabled template `disable_info`) of Meta's status event."""
    if pause.status == "DISABLED":
        return {
            "other_info": {
                "title": "DISABLED",
                "description": "The template was rated low quality after two pauses and is disabled.",
            },
            "disable_info": {"disable_date": int(now)},
        }
    hours = round(PAUSE_PERIODS[pause.pause_count - 1] / HOUR)
    return {
        "other_info": {
            "title": pause.title,
            "description": f"The template was rated low quality and is paused for {hours} hours.",
        }
    }


UNPAUSE_INFO: dict[str, object] = {
    "other_info": {"title": "UNPAUSE", "description": "The template is no longer paused and can be sent."}
}


def not_paused(status: str) -> GraphError:
    return _error(100, "Invalid parameter", f"status: a template in status {status} is not paused")


def check_unpause(status: str) -> None:
    if status != "PAUSED":
        raise not_paused(status)
