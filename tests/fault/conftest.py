"""Fixtures of the fault tests: a throwaway PostgreSQL and Redis per test, and the cluster on them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fault.cluster import Cluster
from tests.fault.services import ThrowawayPostgres, ThrowawayRedis, unavailable


@pytest.fixture
def pg() -> Iterator[ThrowawayPostgres]:
    reason = unavailable()
    if reason is not None:
        pytest.skip(reason)
    server = ThrowawayPostgres().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def redis_server() -> Iterator[ThrowawayRedis]:
    reason = unavailable()
    if reason is not None:
        pytest.skip(reason)
    server = ThrowawayRedis().start()
    try:
        yield server
    finally:
        server.close()


def make_cluster(tmp_path: Path, pg: ThrowawayPostgres, redis: ThrowawayRedis, rate: int) -> Cluster:
    return Cluster(tmp_path / "cluster", pg, redis, rate)
