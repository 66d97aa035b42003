"""What every workload shares: the machine, wrk, a result row with its same-run baseline."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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
            f"{self.workload:4} {verdict:4} | {main} | baseline: {base} | ratio {self.ratio:.3f}"
            f" | target: {self.target}"
        )

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
