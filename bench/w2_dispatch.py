"""W2: one number at 1,000 messages/s to the simulator, receipts on, for the duration.

A backlog is queued while the number's rate is 1 message/s; then the rate is raised to 1,000 with
`wagate numbers update`, as an operator would. Over the measured window the simulator's journal gives
every accepted send's time: the rate achieved, and the busiest sliding second. The simulator must
refuse nothing for throughput (130429). Baseline, same run: how fast the simulator alone accepts sends
(no wagate around it), which is the ceiling any dispatcher could reach here.

In scale-out the number is a `cloud` one at the fake Meta, created there with a limit of 1,000/s (only
wagate's rate is varied), sent by two worker processes sharing its rate through Redis. The fake Meta
also counts the most sends attempted for the number in any sliding second (`peak_per_second`): the
two workers together must never exceed the rate. The baseline is measured once, after every engine.
"""

from __future__ import annotations

import asyncio
import bisect
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import LUA, Result, measure_each, results, run_wrk
from bench.engines import deploy, scalar
from wagate.clock import SystemClock
from wagate.settings import SimulatorSettings
from wagate.upstreams.base import NumberRef
from wagate.upstreams.simulator import SimulatorUpstream
from wagate.upstreams.simulator.journal import read_journal

RATE = 1000
SETTLE = 3.0  # seconds for the dispatcher to pick up the new rate
TARGET = (
    ">= 97% of 1000/s for the window, no sliding second over 1050, no 130429, no simulator refusal"
    " (scale-out: the fake Meta's peak_per_second <= 1000)"
)


def busiest_second(times: list[float]) -> int:
    best = 0
    for i, start in enumerate(times):
        best = max(best, bisect.bisect_left(times, start + 1.0, lo=i) - i)
    return best


def outbox(url: str) -> int:
    return scalar(url, "SELECT COUNT(*) FROM outbox")


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


@dataclass
class Measured:
    window: list[float]
    stats: dict[str, Any]
    peak: int | None
    backlog: int
    left: int
    refused: dict[str, int]
    notes: list[str]


def measure(engine: str, duration: float) -> Measured:
    with tempfile.TemporaryDirectory(prefix=f"wagate-w2-{engine}-") as tmp:
        with deploy(engine, Path(tmp), rate=1) as wagate:
            env = {"WAGATE_BENCH_TOKEN": wagate.token, "WAGATE_BENCH_NUMBER": wagate.number_id}
            needed = int(RATE * (duration + SETTLE + 5))
            while outbox(wagate.database_url) < needed:
                run_wrk(wagate.url, LUA / "w2_backlog.lua", duration=5, connections=64, env=env)
            backlog = outbox(wagate.database_url)
            wagate.set_rate(RATE)
            changed = time.time()
            time.sleep(SETTLE + duration + 0.5)
            left = outbox(wagate.database_url)
            stats = wagate.stats()
            peak = wagate.peak_per_second()
            refused = wagate.refusals()
        # Read once the simulator has stopped, with its journal complete.
        times = sorted(float(r["at"]) for r in read_journal(wagate.journal) if r.get("k") == "send")
    start, end = changed + SETTLE, changed + SETTLE + duration
    window = [t for t in times if start <= t < end]
    return Measured(window, stats, peak, backlog, left, refused, wagate.notes)


def run(duration: float, engines: list[str]) -> list[Result]:
    measured = measure_each(engines, lambda engine: measure(engine, duration))
    with tempfile.TemporaryDirectory(prefix="wagate-w2-alone-") as tmp:
        ceiling = asyncio.run(simulator_alone(5.0, Path(tmp) / "alone.jsonl"))
    baseline = {"rate_limit": RATE, "simulator_alone_per_s": round(ceiling, 1)}
    return results("W2", TARGET, measured, lambda engine, m: result(engine, m, baseline, duration))


def result(engine: str, m: Measured, baseline: dict[str, float], duration: float) -> Result:
    achieved = len(m.window) / duration
    figures: dict[str, float] = {
        "sent_per_s": round(achieved, 1),
        "share_of_rate": round(achieved / RATE, 4),
        "busiest_second": busiest_second(m.window),
        "refused_130429": m.stats["refused_throughput"],
        "refused_131056": m.stats["refused_pair_rate"],
        "backlog_at_start": m.backlog,
        "backlog_at_end": m.left,
    }
    if m.peak is not None:
        figures["peak_per_second"] = m.peak
    passed = (
        figures["share_of_rate"] >= 0.97
        and figures["busiest_second"] <= RATE * 1.05
        and figures["refused_130429"] == 0
        and m.left > 0
    )
    out = Result(
        "W2",
        figures,
        baseline,
        ratio=achieved / RATE,
        target=TARGET,
        passed=passed,
        notes=list(m.notes),
        engine=engine,
    )
    out.count_refusals(m.refused)
    if m.peak is not None and m.peak > RATE:
        out.passed = False
        out.notes.append(f"the workers together sent {m.peak} in one sliding second, over the rate {RATE}")
    if m.left == 0:
        out.notes.append("the backlog ran out inside the window: queue more")
    return out
