"""A scale-out deployment in miniature for the fault tests: the fake Meta, two `wagate serve --api-only`
and two `wagate worker` processes on a throwaway PostgreSQL and Redis, and a client that keeps sending.

Every process is a real child process, started as a user starts it; the client retries a request that
failed (a connection refused, a 5xx) with the same Idempotency-Key, as Meta's SDKs do, and keeps the
wamid of every message wagate acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx
import psycopg

from tests import databases
from tests.fake_meta import cloud_account, meta_account
from tests.fault.services import ThrowawayPostgres, ThrowawayRedis
from tests.helpers import free_port, wagate_env
from wagate.crypto.keys import parse_keys
from wagate.store.db import Database
from wagate.store.migrate import upgrade

APP_SECRET = "fault-secret"
START_TIMEOUT = 30.0


# The fake Meta stands for Meta's servers, which do not share the business's CPU: it runs before the
# deployment's processes, so that the time it stamps on a send is when the send arrived, not when a
# busy core got round to it (a busy fake Meta reads a queue of requests in one go, and would count sends
# that came a tenth of a second apart as one burst). Lowering a niceness needs privileges: without
# them, the deployment's processes are the ones made nicer.
NETWORK_NICENESS = 10


def _network_first() -> None:
    with contextlib.suppress(PermissionError):
        os.nice(-NETWORK_NICENESS)


def _after_the_network() -> None:
    if os.geteuid() != 0:
        os.nice(NETWORK_NICENESS // 2)


class Process:
    """One wagate process: its command, its log, and a health URL to wait for."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], port: int, folder: Path) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.port = port
        self.log = folder / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "wagate", *self.args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_network_first if self.name == "fake-meta" else _after_the_network,
            )

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"{self.name} did not become healthy: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """`kill -9`."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Cluster:
    folder: Path
    pg: ThrowawayPostgres
    redis: ThrowawayRedis
    rate: int
    lease: float = 5.0
    reconciliation: float = 5.0
    apis: list[Process] = field(default_factory=list)
    workers: list[Process] = field(default_factory=list)
    meta: Process | None = None
    token: str = ""
    number_id: int = 0
    # The fake Meta's limit for the number when it differs from wagate's rate (fixed at creation).
    meta_rate: int | None = None
    # Keys of this cluster's own in a Redis others share (the benchmarks'); wagate's default otherwise.
    redis_prefix: str | None = None

    def env(self, name: str) -> dict[str, str]:
        prefix = {} if self.redis_prefix is None else {"WAGATE_REDIS_PREFIX": self.redis_prefix}
        # The application name tells the processes' connections apart in pg_stat_activity.
        return wagate_env(
            self.folder / "home",
            WAGATE_DATABASE_URL=f"{self.pg.url}?application_name=wagate-{name}",
            WAGATE_REDIS_URL=self.redis.url,
            WAGATE_GRAPH_BASE_URL=self.meta_url,
            WAGATE_ALLOW_PRIVATE_TARGETS="true",
            WAGATE_META_APP_SECRET=APP_SECRET,
            WAGATE_META_VERIFY_TOKEN="fault-verify",
            WAGATE_LEASE_SECONDS=str(self.lease),
            WAGATE_RECONCILIATION_WINDOW=str(self.reconciliation),
            WAGATE_SEND_TIMEOUT="3",
            **prefix,
        )

    @property
    def meta_url(self) -> str:
        assert self.meta is not None
        return self.meta.url

    def start(self) -> Cluster:
        self.folder.mkdir(parents=True, exist_ok=True)
        api_ports = [free_port(), free_port()]
        meta_port = free_port()
        self.meta = Process(
            "fake-meta",
            [
                "simulator",
                "--port",
                str(meta_port),
                "--app-secret",
                APP_SECRET,
                "--home",
                str(self.folder / "sim"),
                "--webhook-url",
                f"http://127.0.0.1:{api_ports[0]}/webhooks/meta",
            ],
            wagate_env(self.folder / "unused"),
            meta_port,
            self.folder,
        )
        self.meta.start()
        self.meta.wait_healthy()
        db = Database(self.pg.url, parse_keys(databases.ENCRYPTION_KEYS))
        try:
            upgrade(db)
            account = meta_account(self.meta_url, rate=self.meta_rate or self.rate, messaging_limit=None)
            created = cloud_account(db, time.time(), account, rate=self.rate)
        finally:
            db.stop()
        self.token, self.number_id = created.token, created.number.id
        for i, port in enumerate(api_ports):
            self.apis.append(
                Process(
                    f"api-{i}",
                    ["serve", "--api-only", "--port", str(port)],
                    self.env(f"api-{i}"),
                    port,
                    self.folder,
                )
            )
        for i in range(2):
            port = free_port()
            self.workers.append(
                Process(
                    f"worker-{i}", ["worker", "--port", str(port)], self.env(f"worker-{i}"), port, self.folder
                )
            )
        for process in [*self.apis, *self.workers]:
            process.start()
        for process in [*self.apis, *self.workers]:
            process.wait_healthy()
        return self

    def stop(self) -> None:
        for process in [*self.apis, *self.workers]:
            process.stop()
        if self.meta is not None:
            self.meta.stop()

    def meta_stats(self) -> dict[str, object]:
        stats: dict[str, object] = httpx.get(f"{self.meta_url}/api/v1/simulator/stats", timeout=5).json()
        return stats

    def peak(self) -> int:
        peaks = self.meta_stats()["peak_per_second"]
        assert isinstance(peaks, dict)
        return int(peaks.get(str(self.number_id), 0))

    # -- what the database holds ---------------------------------------------------------------------
    def unsent(self, wamids: list[str]) -> int:
        """How many of these messages have not reached the network (no `sent` or later)."""
        with psycopg.connect(self.pg.url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM messages WHERE wamid = ANY(%s) AND upstream_id IS NOT NULL",
                (wamids,),
            ).fetchone()
        assert row is not None
        return len(wamids) - int(row[0])

    def sent_times(self) -> list[float]:
        """When each message was sent, as wagate recorded it."""
        with psycopg.connect(self.pg.url) as conn:
            rows = conn.execute(
                "SELECT at FROM message_statuses WHERE status = 'sent' ORDER BY at"
            ).fetchall()
        return [float(r[0]) for r in rows]


def largest_gap(times: list[float], start: float, end: float) -> float:
    """The longest time without a send between `start` and `end`."""
    points = [start, *(t for t in times if start < t < end), end]
    return max(b - a for a, b in itertools.pairwise(points))


@dataclass
class Load:
    """What the client sent: every acknowledged message, and when requests failed."""

    acknowledged: dict[str, str] = field(default_factory=dict)  # idempotency key → wamid
    failures: list[float] = field(default_factory=list)  # times a request failed (and was retried)
    errors: dict[str, int] = field(default_factory=dict)  # why, by kind
    first_failure: float | None = None
    recovered_at: float | None = None  # the first acknowledgment after a failure


async def send_load(cluster: Cluster, *, per_second: int, seconds: float, deadline: float) -> Load:
    """Send `per_second` hello_world templates for `seconds`, alternating between the API processes,
    each to a customer of its own; retry each until acknowledged or `deadline` (time.monotonic).

    The client is aiohttp: it shares the test machine with every process of the deployment, and a
    client that spends a core of its own on connection pooling starves what it measures."""
    load = Load()
    total = int(per_second * seconds)
    urls = [api.url for api in cluster.apis]
    headers = {"Authorization": f"Bearer {cluster.token}"}
    connector = aiohttp.TCPConnector(limit=200)
    timeout = aiohttp.ClientTimeout(total=10.0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers) as client:

        def failed(why: str) -> None:
            load.errors[why] = load.errors.get(why, 0) + 1

        async def one(i: int) -> None:
            key = f"fault-{i}"
            body = {
                "messaging_product": "whatsapp",
                "to": f"+7926{i // 100000:02d}{i % 100000:05d}",
                "type": "template",
                "template": {"name": "hello_world", "language": {"code": "en_US"}},
            }
            attempt = 0
            while time.monotonic() < deadline:
                url = urls[(i + attempt) % len(urls)]
                attempt += 1
                status: int | None = None
                try:
                    async with client.post(
                        f"{url}/v23.0/{cluster.number_id}/messages",
                        json=body,
                        headers={"Idempotency-Key": key},
                    ) as response:
                        status = response.status
                        answer = await response.json() if status == 200 else await response.text()
                except (aiohttp.ClientError, TimeoutError) as exc:
                    failed(type(exc).__name__)
                if status == 200:
                    assert isinstance(answer, dict)
                    load.acknowledged[key] = answer["messages"][0]["id"]
                    if load.first_failure is not None and load.recovered_at is None:
                        load.recovered_at = time.monotonic()
                    return
                if status is not None:
                    failed(str(status))
                    if status < 500:
                        raise AssertionError(f"request {i} refused: {status} {answer}")
                now = time.monotonic()
                load.failures.append(now)
                if load.first_failure is None:
                    load.first_failure = now
                await asyncio.sleep(0.2)

        started = time.monotonic()
        tasks = []
        for i in range(total):
            due = started + i / per_second
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return load
