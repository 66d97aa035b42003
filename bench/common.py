"""What every workload shares: the machine, wrk, a result row with its same-run baseline."""

from __future__ import annotations

import concurrent.futures
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from tests.helpers import free_port

LUA = Path(__file__).parent / "lua"


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


@dataclass
class Result:
    workload: str
    figures: dict[str, float]
    baseline: dict[str, float]
    ratio: float
    target: str
    passed: bool
    notes: list[str] = field(default_factory=list)
    engine: str = "sqlite"

    def count_refusals(self, refused: dict[str, int]) -> None:
        """Put the simulator's refusals beside the figures: wagate should have caught each one first."""
        self.figures["simulator_refusals"] = sum(refused.values())
        if refused:
            self.passed = False
            self.notes.append(f"the simulator refused sends (by rule): {refused}")

    def row(self) -> str:
        main = ", ".join(f"{k}={v:g}" for k, v in self.figures.items())
        base = ", ".join(f"{k}={v:g}" for k, v in self.baseline.items())
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"{self.workload:4} {self.engine:10} {verdict:4} | {main} | baseline: {base}"
            f" | ratio {self.ratio:.3f} | target: {self.target}"
        )

    @classmethod
    def broken(cls, workload: str, engine: str, target: str, exc: BaseException) -> Result:
        """The row of a workload that could not be measured on an engine: why, instead of figures."""
        return cls(workload, {}, {}, 0.0, target, False, [f"not measured: {exc!r}"], engine)

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "machine": machine()}, ensure_ascii=False)


@dataclass
class WrkRun:
    requests_per_second: float
    ok: int
    other: int
    latency_ms: dict[str, float]
    raw: str


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("wrk is needed for the HTTP workloads: apt-get install wrk")
    return wrk


def run_wrk(
    url: str,
    script: Path,
    *,
    duration: float,
    connections: int = 64,
    threads: int = 2,
    env: dict[str, str] | None = None,
) -> WrkRun:
    out = subprocess.run(
        [
            require_wrk(),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{int(duration)}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=True,
        timeout=duration + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    counts = re.search(r"WRK_COUNTS ok=(\d+) other=(\d+)", out)
    ok, other = (int(counts.group(1)), int(counts.group(2))) if counts else (0, 0)
    latency = {
        f"p{m.group(1)}": float(m.group(2)) for m in re.finditer(r"WRK_LATENCY p([\d.]+)=([\d.]+)", out)
    }
    return WrkRun(rps, ok, other, latency, out)


def run_wrk_split(
    urls: list[str],
    script: Path,
    *,
    duration: float,
    connections: int = 64,
    threads: int = 2,
    env: dict[str, str] | None = None,
) -> list[WrkRun]:
    """One wrk per URL at once, the connections and threads shared out between them. Each gets
    `WAGATE_BENCH_THREAD_OFFSET` (how many threads the ones before it run) for scripts that split
    their work by thread."""
    share_c, share_t = connections // len(urls), max(1, threads // len(urls))
    with concurrent.futures.ThreadPoolExecutor(len(urls)) as pool:
        runs = [
            pool.submit(
                run_wrk,
                url,
                script,
                duration=duration,
                connections=share_c,
                threads=share_t,
                env={**(env or {}), "WAGATE_BENCH_THREAD_OFFSET": str(i * share_t)},
            )
            for i, url in enumerate(urls)
        ]
        return [run.result() for run in runs]


def combined(runs: list[WrkRun]) -> WrkRun:
    """Several wrk runs at once as one: rates and counts summed; each latency percentile the worst
    of the runs' (an upper bound: wrk does not give the merged distribution)."""
    if len(runs) == 1:
        return runs[0]
    latency = {p: max(r.latency_ms.get(p, -1) for r in runs) for p in runs[0].latency_ms}
    return WrkRun(
        sum(r.requests_per_second for r in runs),
        sum(r.ok for r in runs),
        sum(r.other for r in runs),
        latency,
        "\n".join(r.raw for r in runs),
    )


class BaselineServer:
    """The bare ASGI endpoint in its own process, on the same server settings as wagate."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> BaselineServer:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.baseline_app", str(self.port)], cwd=Path(__file__).parent.parent
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.post(f"http://127.0.0.1:{self.port}/", content=b"{}", timeout=1.0)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the baseline server did not start")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)


M = TypeVar("M")


def measure_each(engines: list[str], measure: Callable[[str], M]) -> dict[str, M | Exception]:
    """`measure` on every engine; an engine that fails still leaves the others' figures."""
    measured: dict[str, M | Exception] = {}
    for engine in engines:
        try:
            measured[engine] = measure(engine)
        except Exception as exc:
            measured[engine] = exc
    return measured


def results(
    workload: str,
    target: str,
    measured: dict[str, M | Exception],
    make: Callable[[str, M], Result],
) -> list[Result]:
    """A row per engine: its figures, or why it could not be measured."""
    return [
        Result.broken(workload, engine, target, m) if isinstance(m, Exception) else make(engine, m)
        for engine, m in measured.items()
    ]
