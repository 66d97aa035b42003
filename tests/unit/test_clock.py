"""Business time comes from a Clock; tests and other processes can move it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from wagate.clock import OffsetFileClock, SettableClock, SystemClock, clock_from_spec


def test_settable_clock_stands_still_and_moves_when_told() -> None:
    clock = SettableClock(1000.0)
    assert clock.now() == 1000.0
    clock.advance(86400)
    assert clock.now() == 87400.0


def test_ticking_settable_clock_follows_wall_time_from_its_offset() -> None:
    clock = SettableClock(ticking=True)
    clock.advance(3600)
    assert 3599 < clock.now() - time.time() < 3601


def test_offset_file_clock_reads_the_offset(tmp_path: Path) -> None:
    path = tmp_path / "offset"
    clock = OffsetFileClock(path, recheck=0.0)
    assert abs(clock.now() - time.time()) < 1
    path.write_text("7200")
    assert 7199 < clock.now() - time.time() < 7201


def test_clock_from_spec(tmp_path: Path) -> None:
    assert isinstance(clock_from_spec("system"), SystemClock)
    assert isinstance(clock_from_spec(f"offset-file:{tmp_path / 'x'}"), OffsetFileClock)
    with pytest.raises(ValueError):
        clock_from_spec("sundial")
