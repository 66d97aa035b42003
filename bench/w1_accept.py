"""W1: accepted messages per second over HTTP, durably, with the workers and receipts running.

64 connections for the duration, a realistic mix (text to customers with an open window, the seeded
template to new numbers), beside a bare ASGI endpoint on the same server settings. Afterwards the 2xx
responses wrk counted are compared with the rows committed (requests in flight when wrk stops are
committed but not counted by wrk, so the difference lies between 0 and the number of connections).
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from pathlib import Path

import httpx
from tests.helpers import Server, bootstrap, simulator_refusals

from bench.common import LUA, BaselineServer, Result, run_wrk

CONNECTIONS = 64
OPEN_WINDOWS = 1000


def outbound_rows(home: Path) -> int:
    with sqlite3.connect(home / "wagate.db") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM messages WHERE direction = 'out'").fetchone()[0])


async def open_windows(server: Server, ids: dict[str, str], count: int) -> None:
    """Customers write first, as they do before a business may answer with free-form text."""
    headers = {"Authorization": f"Bearer {ids['token']}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as client:
        semaphore = asyncio.Semaphore(32)

        async def one(i: int) -> None:
            async with semaphore:
                response = await client.post(
                    "/api/v1/simulator/messages",
                    json={
                        "phone_number_id": ids["phone_number_id"],
                        "from": f"+7916{i:07d}",
                        "text": "Is my order ready?",
                    },
                )
                response.raise_for_status()

        await asyncio.gather(*(one(i) for i in range(count)))


def run(duration: float) -> Result:
    with tempfile.TemporaryDirectory(prefix="wagate-w1-") as tmp:
        home = Path(tmp) / "home"
        ids = bootstrap(home)
        env = {
            "WAGATE_BENCH_TOKEN": ids["token"],
            "WAGATE_BENCH_NUMBER": ids["phone_number_id"],
            "WAGATE_BENCH_OPEN_WINDOWS": str(OPEN_WINDOWS),
        }
        with Server(home, expect_refusals=True) as server:
            asyncio.run(open_windows(server, ids, OPEN_WINDOWS))
            before = outbound_rows(home)
            load = run_wrk(
                server.url, LUA / "w1_mix.lua", duration=duration, connections=CONNECTIONS, env=env
            )
            committed = outbound_rows(home) - before
            refused = simulator_refusals(server.url)
        with BaselineServer() as baseline_server:
            base = run_wrk(
                f"http://127.0.0.1:{baseline_server.port}",
                LUA / "w1_mix.lua",
                duration=duration,
                connections=CONNECTIONS,
                env=env,
            )
    in_flight = committed - load.ok
    figures = {
        "accepted_per_s": round(load.ok / duration, 1),
        "p50_ms": load.latency_ms.get("p50", -1),
        "p99_ms": load.latency_ms.get("p99", -1),
        "non_2xx": load.other,
        "committed": committed,
        "wrk_2xx": load.ok,
        "in_flight_at_stop": in_flight,
    }
    baseline = {
        "bare_asgi_per_s": round(base.requests_per_second, 1),
        "bare_p99_ms": base.latency_ms.get("p99", -1),
    }
    passed = (
        figures["accepted_per_s"] >= 3000
        and 0 <= figures["p99_ms"] <= 100
        and load.other == 0
        and 0 <= in_flight <= CONNECTIONS
    )
    result = Result(
        "W1",
        figures,
        baseline,
        ratio=figures["accepted_per_s"] / max(1.0, baseline["bare_asgi_per_s"]),
        target=">= 3000 accepted/s durably, p99 <= 100 ms, no non-2xx, 2xx == committed rows, "
        "no simulator refusal",
        passed=passed,
    )
    result.count_refusals(refused)
    return result
