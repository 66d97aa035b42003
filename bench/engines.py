"""Where a workload runs: `sqlite` and `postgresql` (one `wagate serve` with its in-process simulator)
and `scaleout` (the fake Meta, two `wagate serve --api-only` and two `wagate worker` on PostgreSQL, the
numbers' rates shared through Redis).

PostgreSQL and Redis are the shared servers the test suite uses (`WAGATE_TEST_POSTGRESQL_URL`,
`WAGATE_TEST_REDIS_URL`); each deployment gets a throwaway database, dropped afterwards, and on Redis a
prefix of its own, whose keys are deleted afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
import sqlalchemy as sa
from tests import databases
from tests.fault import cluster as scale_out
from tests.helpers import Server, bootstrap, run_cli, simulator_refusals

from wagate.store.db import engine_url

ENGINES = ("sqlite", "postgresql", "scaleout")
# The fake Meta's limit for the scale-out number: wagate's rate for it is varied under this ceiling.
META_RATE = 1000


def unavailable(engine: str) -> str | None:
    """Why `engine` cannot run here, or None when it can."""
    if engine == "sqlite":
        return None
    reason = databases.postgresql_unreachable()
    if reason is None and engine == "scaleout":
        reason = databases.redis_unreachable()
    return reason


def scalar(url: str, sql: str) -> int:
    """One number (`SELECT COUNT(*) ...`) from the database at `url`, SQLite or PostgreSQL alike."""
    engine = sa.create_engine(engine_url(url), poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql(sql).scalar_one())
    finally:
        engine.dispose()


@dataclass
class Deployment:
    """A running wagate as a workload drives it, whatever its engine."""

    engine: str
    api_urls: list[str]  # every process that takes API requests and webhooks
    token: str
    number_id: str
    database_url: str
    journal: Path  # the simulator's journal of sends
    simulator_url: str  # its control API: customers writing in, stats
    simulator_headers: dict[str, str]
    app_secret: str | None  # Meta's app secret wagate checks webhooks with
    cli_home: Path
    cli_env: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The first API process (where the fake Meta's webhooks go, in scale-out)."""
        return self.api_urls[0]

    def stats(self) -> dict[str, Any]:
        response = httpx.get(
            f"{self.simulator_url}/api/v1/simulator/stats", headers=self.simulator_headers, timeout=10
        )
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats

    def refusals(self) -> dict[str, int]:
        """The simulator's refusals by rule (only those above zero)."""
        if self.engine != "scaleout":
            return simulator_refusals(self.url)
        return {rule: int(n) for rule, n in self.stats()["refusals"].items() if n}

    def peak_per_second(self) -> int | None:
        """Most sends attempted for the number in any sliding second, where the simulator counts it."""
        peaks = self.stats().get("peak_per_second")
        return None if peaks is None else int(peaks.get(self.number_id, 0))

    def set_rate(self, rate: int) -> None:
        run_cli(self.cli_home, "numbers", "update", self.number_id, "--rate", str(rate), **self.cli_env)


@dataclass
class _Shared:
    """A shared server as the scale-out cluster sees it: only its URL."""

    url: str


@contextlib.contextmanager
def deploy(
    engine: str, tmp: Path, *, rate: int | None = None, env: dict[str, str] | None = None
) -> Iterator[Deployment]:
    """A wagate on `engine` with one number (its rate set to `rate` first when given), `env` added to
    every single-server process's settings; stopped and its database dropped on the way out."""
    if engine == "scaleout":
        with _scale_out(tmp, rate or 80) as deployment:
            yield deployment
        return
    env = dict(env or {})
    home = tmp / "home"
    url = f"sqlite:///{home / 'wagate.db'}"
    with contextlib.ExitStack() as stack:
        if engine == "postgresql":
            url = databases.create_database()
            stack.callback(databases.drop_database, url)
            env = {**env, "WAGATE_DATABASE_URL": url}
        ids = bootstrap(home, **env)
        if rate is not None:
            run_cli(home, "numbers", "update", ids["phone_number_id"], "--rate", str(rate), **env)
        server = stack.enter_context(Server(home, None, expect_refusals=True, **env))
        yield Deployment(
            engine=engine,
            api_urls=[server.url],
            token=ids["token"],
            number_id=ids["phone_number_id"],
            database_url=url,
            journal=home / "simulator" / "journal.jsonl",
            simulator_url=server.url,
            simulator_headers={"Authorization": f"Bearer {ids['token']}"},
            app_secret=env.get("WAGATE_META_APP_SECRET"),
            cli_home=home,
            cli_env=env,
        )


@contextlib.contextmanager
def _scale_out(tmp: Path, rate: int) -> Iterator[Deployment]:
    url = databases.create_database()
    prefix = str(sa.make_url(url).database)
    folder = tmp / "cluster"
    running = scale_out.Cluster(
        folder,
        _Shared(url),  # type: ignore[arg-type]  # the cluster only reads the servers' URLs
        _Shared(databases.redis_url()),  # type: ignore[arg-type]
        rate,
        meta_rate=META_RATE,
        redis_prefix=prefix,
    )
    try:
        running.start()
        yield Deployment(
            engine="scaleout",
            api_urls=[api.url for api in running.apis],
            token=running.token,
            number_id=str(running.number_id),
            database_url=url,
            journal=folder / "sim" / "journal.jsonl",
            simulator_url=running.meta_url,
            simulator_headers={},
            app_secret=scale_out.APP_SECRET,
            cli_home=folder / "home",
            cli_env={"WAGATE_DATABASE_URL": url},
            notes=[
                f"scale-out: {len(running.apis)} API + {len(running.workers)} worker processes, the fake "
                f"Meta over HTTP (number limit {META_RATE}/s), PostgreSQL and Redis shared"
            ],
        )
    finally:
        running.stop()
        databases.drop_database(url)
        _forget_redis_keys(prefix)


def _forget_redis_keys(prefix: str) -> None:
    client = redis.Redis.from_url(databases.redis_url(), socket_timeout=databases.CONNECT_TIMEOUT)
    try:
        keys = [*client.scan_iter(match=f"{{{prefix}:*", count=500), *client.scan_iter(match=f"{prefix}:*")]
        if keys:
            client.delete(*keys)
    finally:
        client.close()
