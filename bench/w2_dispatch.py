"""W2: one number at 1,000 messages/s to the simulator, receipts on, for the duration.

A backlog is queued while the number's rate is 1 message/s; then the rate is raised to 1,000 with
`wagate numbers update`, as an operator would. Over the measured window the simulator's journal gives
every accepted send's time: the rate achieved, and the busiest sliding second. The simulator must
refuse nothing for throughput (130429). Baseline, same run: how fast the simulator alone accepts sends
(no wagate around it), which is the ceiling any dispatcher could reach here.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import sqlite3
import tempfile
import time
from pathlib import Path

import httpx
from tests.helpers import Server, bootstrap, run_cli, simulator_refusals

from bench.common import LUA, Result, run_wrk
from wagate.clock import SystemClock
from wagate.settings import SimulatorSettings
from wagate.upstreams.base import NumberRef
from wagate.upstreams.simulator import SimulatorUpstream
from wagate.upstreams.simulator.journal import read_journal

RATE = 1000
SETTLE = 3.0  # seconds for the dispatcher to pick up the new rate


def busiest_second(times: list[float]) -> int:
    best = 0
    for i, start in enumerate(times):
        best = max(best, bisect.bisect_left(times, start + 1.0, lo=i) - i)
    return best


def outbox(home: Path) -> int:
    with sqlite3.connect(home / "wagate.db") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])


async def simulator_alone(seconds: float, journal: Path) -> float:
    """Sends per second the simulator accepts when driven directly, journal and receipts on."""
    simulator = SimulatorUpstream(SystemClock(), SimulatorSettings(), journal)

    async def ingest(body: bytes) -> None:
        return None

    await simulator.start(ingest)
    number = NumberRef(1, "+7 495 555-01-00", 2, 1_000_000)
    # Business-initiated sends, as W2's backlog: an approved utility template, an unlimited account.
    simulator.sync_account(number.waba_id, None)
    simulator.sync_template(
        number.waba_id,
        3,
        "hello_world",
        "en_US",
        "APPROVED",
        "UTILITY",
        "positional",
        [{"type": "BODY", "text": "x"}],
    )
    sent = 0
    deadline = time.monotonic() + seconds

    async def worker(offset: int) -> None:
        nonlocal sent
        i = offset
        while time.monotonic() < deadline:
            await simulator.send(
                number,
                {
                    "messaging_product": "whatsapp",
                    "to": f"7926{i:07d}",
                    "type": "template",
                    "template": {"name": "hello_world", "language": {"code": "en_US"}},
                    "biz_opaque_callback_data": f"b{i}",
                },
            )
            sent += 1
            i += 64

    started = time.monotonic()
    await asyncio.gather(*(worker(k) for k in range(64)))
    elapsed = time.monotonic() - started
    await simulator.close()
    return sent / elapsed


def run(duration: float) -> Result:
    with tempfile.TemporaryDirectory(prefix="wagate-w2-") as tmp:
        home = Path(tmp) / "home"
        ids = bootstrap(home)
        run_cli(home, "numbers", "update", ids["phone_number_id"], "--rate", "1")
        env = {"WAGATE_BENCH_TOKEN": ids["token"], "WAGATE_BENCH_NUMBER": ids["phone_number_id"]}
        needed = int(RATE * (duration + SETTLE + 5))
        with Server(home, expect_refusals=True) as server:
            while outbox(home) < needed:
                run_wrk(server.url, LUA / "w2_backlog.lua", duration=5, connections=64, env=env)
            backlog = outbox(home)
            run_cli(home, "numbers", "update", ids["phone_number_id"], "--rate", str(RATE))
            changed = time.time()
            time.sleep(SETTLE + duration + 0.5)
            left = outbox(home)
            stats = httpx.get(
                f"{server.url}/api/v1/simulator/stats", headers={"Authorization": f"Bearer {ids['token']}"}
            ).json()
            refused = simulator_refusals(server.url)
        times = sorted(
            float(r["at"]) for r in read_journal(home / "simulator" / "journal.jsonl") if r.get("k") == "send"
        )
        start, end = changed + SETTLE, changed + SETTLE + duration
        window = [t for t in times if start <= t < end]
        ceiling = asyncio.run(simulator_alone(5.0, Path(tmp) / "alone.jsonl"))
    achieved = len(window) / duration
    figures = {
        "sent_per_s": round(achieved, 1),
        "share_of_rate": round(achieved / RATE, 4),
        "busiest_second": busiest_second(window),
        "refused_130429": stats["refused_throughput"],
        "refused_131056": stats["refused_pair_rate"],
        "backlog_at_start": backlog,
        "backlog_at_end": left,
    }
    baseline = {"rate_limit": RATE, "simulator_alone_per_s": round(ceiling, 1)}
    passed = (
        figures["share_of_rate"] >= 0.97
        and figures["busiest_second"] <= RATE * 1.05
        and figures["refused_130429"] == 0
        and left > 0
    )
    result = Result(
        "W2",
        figures,
        baseline,
        ratio=achieved / RATE,
        target=">= 97% of 1000/s for the window, no sliding second over 1050, no 130429, "
        "no simulator refusal",
        passed=passed,
    )
    result.count_refusals(refused)
    if left == 0:
        result.notes.append("the backlog ran out inside the window: queue more")
    json.dumps(figures)
    return result
