"""The pure rules of a template's life after creation: deletion, edit limits, quality and pauses."""

from __future__ import annotations

import pytest

from wagate.domain import template_lifecycle as lifecycle
from wagate.errors import GraphError
from wagate.services.template_sync import parse_meta_template

HOUR = 3600.0
DAY = 24 * HOUR
NOW = 1_800_000_000.0


def test_deleting_an_approved_or_paused_template_holds_its_name() -> None:
    assert lifecycle.deleted_status("APPROVED") == "PENDING_DELETION"
    assert lifecycle.deleted_status("PAUSED") == "PENDING_DELETION"
    for status in ("PENDING", "REJECTED"):
        assert lifecycle.deleted_status(status) == "DELETED"
    assert lifecycle.NAME_HOLD == 30 * DAY


def test_a_disabled_template_cannot_be_deleted() -> None:
    lifecycle.check_deletable("order", [("en_US", "APPROVED"), ("es", "REJECTED")])
    with pytest.raises(GraphError) as refused:
        lifecycle.check_deletable("order", [("en_US", "APPROVED"), ("es", "DISABLED")])
    assert refused.value.code == 100
    assert refused.value.details is not None and refused.value.details.startswith("name: order in es")


def test_a_held_name_and_the_hourly_creation_limit_answer_with_codes() -> None:
    held = lifecycle.name_held("order", NOW + DAY)
    assert held.code == 100 and held.details is not None and held.details.startswith("name:")
    hourly = lifecycle.creation_limit_reached()
    assert hourly.code == 80007 and hourly.http_status == 400
    assert lifecycle.CREATIONS_PER_HOUR == 100


def test_an_approved_template_is_edited_at_most_once_a_day() -> None:
    first = lifecycle.edit_allowance("APPROVED", [], NOW)
    assert first.allowed and first.edit_times == [NOW]
    again = lifecycle.edit_allowance("APPROVED", first.edit_times, NOW + DAY - 1)
    assert not again.allowed and "24 hours" in again.details
    assert lifecycle.edit_allowance("APPROVED", first.edit_times, NOW + DAY).allowed


def test_an_approved_template_is_edited_at_most_ten_times_in_thirty_days() -> None:
    times = [NOW + i * (DAY + 1) for i in range(10)]
    later = times[-1] + 2 * DAY
    eleventh = lifecycle.edit_allowance("APPROVED", times, later)
    assert not eleventh.allowed and "10 times in 30 days" in eleventh.details
    # Once the first edit is more than 30 days old, one more is allowed.
    allowed = lifecycle.edit_allowance("APPROVED", times, times[0] + 30 * DAY + 1)
    assert allowed.allowed and len(allowed.edit_times) == 10


def test_rejected_and_paused_templates_are_edited_without_limit() -> None:
    times = [NOW - i * HOUR for i in range(12)]
    for status in ("REJECTED", "PAUSED"):
        allowance = lifecycle.edit_allowance(status, times, NOW)
        assert allowance.allowed
        assert allowance.edit_times == sorted(times)  # not counted: only approved edits are


def test_red_pauses_three_hours_then_six_then_disables() -> None:
    first = lifecycle.pause_for_quality("APPROVED", "RED", 0, NOW)
    assert first == lifecycle.Pause("PAUSED", 1, NOW + 3 * HOUR, "FIRST_PAUSE")
    second = lifecycle.pause_for_quality("APPROVED", "RED", 1, NOW)
    assert second == lifecycle.Pause("PAUSED", 2, NOW + 6 * HOUR, "SECOND_PAUSE")
    third = lifecycle.pause_for_quality("APPROVED", "RED", 2, NOW)
    assert third == lifecycle.Pause("DISABLED", 3, None, "DISABLED")
    assert lifecycle.pause_info(third, NOW)["disable_info"] == {"disable_date": int(NOW)}
    assert lifecycle.pause_info(first, NOW)["other_info"]["title"] == "FIRST_PAUSE"  # type: ignore[index]


def test_only_an_approved_template_rated_red_is_paused() -> None:
    assert lifecycle.pause_for_quality("APPROVED", "YELLOW", 0, NOW) is None
    assert lifecycle.pause_for_quality("PENDING", "RED", 0, NOW) is None
    assert lifecycle.pause_for_quality("PAUSED", "RED", 1, NOW) is None


def test_quality_scores_and_unpause_are_checked() -> None:
    assert lifecycle.check_quality_score("red") == "RED"
    with pytest.raises(GraphError):
        lifecycle.check_quality_score("BLUE")
    with pytest.raises(GraphError):
        lifecycle.check_quality_score(None)
    lifecycle.check_unpause("PAUSED")
    with pytest.raises(GraphError) as refused:
        lifecycle.check_unpause("APPROVED")
    assert refused.value.details is not None and refused.value.details.startswith("status:")


def test_a_template_of_metas_list_is_parsed() -> None:
    parsed = parse_meta_template(
        {
            "id": "1689556908129832",
            "name": "order_confirmation",
            "language": "en_US",
            "status": "approved",
            "category": "UTILITY",
            "parameter_format": "NAMED",
            "components": [{"type": "BODY", "text": "Hi"}],
            "quality_score": {"score": "GREEN", "date": 1},
        }
    )
    assert parsed is not None
    assert (parsed.id, parsed.status, parsed.parameter_format, parsed.quality_score) == (
        1689556908129832,
        "APPROVED",
        "named",
        "GREEN",
    )
    assert parse_meta_template({"id": "x", "name": "n"}) is None
    assert parse_meta_template({"id": "1", "name": "n", "language": "en", "status": "APPROVED"}) is None
