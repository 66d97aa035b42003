"""W1: accepted messages per second over HTTP, durably, with the workers and receipts running.

64 connections for the duration, a realistic mix (text to customers with an open window, the seeded
template to new numbers), beside a bare ASGI endpoint on the same server settings. Afterwards the 2xx
responses wrk counted are compared with the rows committed (requests in flight when wrk stops are
committed but not counted by wrk, so the difference lies between 0 and the number of connections).

In scale-out the connections are split between the two API processes (one wrk each, summed; each
latency percentile is the worse of the two), and customers write first through the fake Meta, whose
webhooks reach the first API process. The baseline is measured once, after every engine.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.common import (
    LUA,
    BaselineServer,
    Result,
    WrkRun,
    combined,
    measure_each,
    results,
    run_wrk,
    run_wrk_split,
)
from bench.engines import Deployment, deploy, scalar

CONNECTIONS = 64
OPEN_WINDOWS = 1000
TARGET = ">= 3000 accepted/s durably, p99 <= 100 ms, no non-2xx, 2xx == committed rows, no simulator refusal"


def outbound_rows(url: str) -> int:
    return scalar(url, "SELECT COUNT(*) FROM messages WHERE direction = 'out'")


async def open_windows(deployment: Deployment, count: int) -> None:
    """Customers write first, as they do before a business may answer with free-form text."""
    async with httpx.AsyncClient(
        base_url=deployment.simulator_url, headers=deployment.simulator_headers, timeout=30
    ) as client:
        semaphore = asyncio.Semaphore(32)

        async def one(i: int) -> None:
            async with semaphore:
                response = await client.post(
                    "/api/v1/simulator/messages",
                    json={
                        "phone_number_id": deployment.number_id,
                        "from": f"+7916{i:07d}",
                        "text": "Is my order ready?",
                    },
                )
                response.raise_for_status()

        await asyncio.gather(*(one(i) for i in range(count)))


def wait_for_inbound(url: str, count: int, within: float = 60.0) -> None:
    """The fake Meta delivers customers' messages as webhooks, after answering: wait until all are in."""
    deadline = time.monotonic() + within
    while scalar(url, "SELECT COUNT(*) FROM messages WHERE direction = 'in'") < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the {count} customers' messages did not all arrive within {within:g} s")
        time.sleep(0.1)


@dataclass
class Measured:
    load: WrkRun
    committed: int
    refused: dict[str, int]
    notes: list[str] = field(default_factory=list)


def measure(engine: str, duration: float) -> Measured:
    with (
        tempfile.TemporaryDirectory(prefix=f"wagate-w1-{engine}-") as tmp,
        deploy(engine, Path(tmp)) as wagate,
    ):
        env = {
            "WAGATE_BENCH_TOKEN": wagate.token,
            "WAGATE_BENCH_NUMBER": wagate.number_id,
            "WAGATE_BENCH_OPEN_WINDOWS": str(OPEN_WINDOWS),
        }
        asyncio.run(open_windows(wagate, OPEN_WINDOWS))
        if engine == "scaleout":
            wait_for_inbound(wagate.database_url, OPEN_WINDOWS)
        before = outbound_rows(wagate.database_url)
        load = combined(
            run_wrk_split(
                wagate.api_urls, LUA / "w1_mix.lua", duration=duration, connections=CONNECTIONS, env=env
            )
        )
        committed = outbound_rows(wagate.database_url) - before
        return Measured(load, committed, wagate.refusals(), wagate.notes)


def run(duration: float, engines: list[str]) -> list[Result]:
    measured = measure_each(engines, lambda engine: measure(engine, duration))
    with BaselineServer() as baseline_server:
        base = run_wrk(
            f"http://127.0.0.1:{baseline_server.port}",
            LUA / "w1_mix.lua",
            duration=duration,
            connections=CONNECTIONS,
            env={
                "WAGATE_BENCH_TOKEN": "-",
                "WAGATE_BENCH_NUMBER": "1",
                "WAGATE_BENCH_OPEN_WINDOWS": str(OPEN_WINDOWS),
            },
        )
    baseline = {
        "bare_asgi_per_s": round(base.requests_per_second, 1),
        "bare_p99_ms": base.latency_ms.get("p99", -1),
    }
    return results("W1", TARGET, measured, lambda engine, m: result(engine, m, baseline, duration))


def result(engine: str, m: Measured, baseline: dict[str, float], duration: float) -> Result:
    load = m.load
    in_flight = m.committed - load.ok
    figures = {
        "accepted_per_s": round(load.ok / duration, 1),
        "p50_ms": load.latency_ms.get("p50", -1),
        "p99_ms": load.latency_ms.get("p99", -1),
        "non_2xx": load.other,
        "committed": m.committed,
        "wrk_2xx": load.ok,
        "in_flight_at_stop": in_flight,
    }
    passed = (
        figures["accepted_per_s"] >= 3000
        and 0 <= figures["p99_ms"] <= 100
        and load.other == 0
        and 0 <= in_flight <= CONNECTIONS
    )
    out = Result(
        "W1",
        figures,
        baseline,
        ratio=figures["accepted_per_s"] / max(1.0, baseline["bare_asgi_per_s"]),
        target=TARGET,
        passed=passed,
        notes=list(m.notes),
        engine=engine,
    )
    out.count_refusals(m.refused)
    return out
