"""How far a consumer may read: up to the first gap in the ids, unless the gap outlived a transaction."""

from wagate.domain.event_stream import readable


def test_sqlite_ids_are_final_whatever_the_gaps() -> None:
    gaps: dict[int, float] = {5: 0.0}
    assert readable(0, [1, 2, 9], final=True, gaps=gaps, now=0.0) == 3
    assert gaps == {}


def test_contiguous_ids_are_read_whole() -> None:
    assert readable(10, [11, 12, 13], final=False, gaps={}, now=0.0) == 3


def test_a_new_gap_stops_the_read_until_it_is_older_than_the_wait() -> None:
    gaps: dict[int, float] = {}
    # 12 may still commit (a transaction that took its id before 13's): read up to it only.
    assert readable(10, [11, 13, 14], final=False, gaps=gaps, now=100.0, wait=3.0) == 1
    assert gaps == {12: 100.0}
    assert readable(11, [13, 14], final=False, gaps=gaps, now=102.9, wait=3.0) == 0
    # It committed meanwhile: read on, and the gap is forgotten.
    assert readable(11, [12, 13, 14], final=False, gaps=gaps, now=103.0, wait=3.0) == 3
    assert gaps == {}


def test_a_gap_that_never_fills_is_passed_after_the_wait() -> None:
    gaps: dict[int, float] = {}
    assert readable(0, [1, 3], final=False, gaps=gaps, now=0.0, wait=3.0) == 1
    assert readable(1, [3, 5], final=False, gaps=gaps, now=3.0, wait=3.0) == 1  # 2 passed; 4 is new
    assert gaps == {4: 3.0}


def test_a_gap_right_after_the_cursor_holds_everything() -> None:
    assert readable(0, [2, 3], final=False, gaps={}, now=0.0) == 0
