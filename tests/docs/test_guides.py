"""The README and every guide in docs/ work as written: their shell blocks run, in order, in a fresh
folder (a copy of the repository for the README, whose commands start there; an empty folder for the
others), and print what the guide shows (tests/docs/guides.py says how a guide is read).

Guides that need PostgreSQL and Redis get a throwaway database and a Redis prefix of their own, given
as `WAGATE_DATABASE_URL`, `WAGATE_REDIS_URL` and `WAGATE_REDIS_PREFIX` in the environment (which wins
over a guide's `.env`); nothing else of the guide is changed. A guide that needs `postgresql-server`
creates its own databases on 127.0.0.1 as the user `postgres`, as it tells its reader to.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests import databases
from tests.docs.guides import Guide, outputs_by_block, read_guide, script_of, unmatched

ROOT = Path(__file__).resolve().parents[2]
GUIDES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# The ports the guides use, as a user would (a test run elsewhere on the machine must not hold them).
PORTS = (8080, 8081, 8090, 8201, 8202, 9000)
READY_TIMEOUT = 240.0  # the README's first block sets up a virtual environment before it serves
RUN_TIMEOUT = 600.0


def _copy_of_repository(into: Path) -> Path:
    """The files a fresh clone has (and new ones not yet committed), without environments or data."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        relative = Path(os.fsdecode(raw))
        source = ROOT / relative
        if not source.is_file():
            continue  # deleted in the working tree
        target = into / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return into


def _busy_ports() -> list[int]:
    busy = []
    for port in PORTS:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                busy.append(port)
    return busy


def _environment(guide: Guide, folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAGATE_")}
    # `wagate` on the PATH, as after `pip install wagate`; the README calls .venv/bin/wagate itself.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("VIRTUAL_ENV", None)
    if "postgresql" in guide.needs:
        env["WAGATE_DATABASE_URL"] = databases.create_database()
    if "redis" in guide.needs:
        env["WAGATE_REDIS_URL"] = databases.redis_url()
        env["WAGATE_REDIS_PREFIX"] = f"doc-{uuid.uuid4().hex[:12]}"
    return env


def _stop_leftovers(folder: Path) -> None:
    pids = folder / ".doc-bg-pids"
    if not pids.exists():
        return
    for line in pids.read_text().split():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(int(line), signal.SIGKILL)


@pytest.mark.parametrize("path", GUIDES, ids=[p.relative_to(ROOT).as_posix() for p in GUIDES])
def test_the_guide_works_as_written(path: Path, tmp_path: Path) -> None:
    guide = read_guide(path)
    if not guide.run_blocks:
        pytest.skip(f"{path.name} has no shell commands to run")
    if guide.needs & {"postgresql", "postgresql-server"} and (why := databases.postgresql_unreachable()):
        pytest.skip(f"{path.name} needs PostgreSQL: {why}")
    if "redis" in guide.needs and (why := databases.redis_unreachable()):
        pytest.skip(f"{path.name} needs Redis: {why}")
    if busy := _busy_ports():
        pytest.skip(f"ports {busy} are taken on this machine; the guides use them as written")
    folder = _copy_of_repository(tmp_path / "wagate") if path.name == "README.md" else tmp_path
    script = folder / ".doc-test.sh"
    script.write_text(script_of(guide, ready_timeout=READY_TIMEOUT))
    env = _environment(guide, folder)
    process = subprocess.Popen(
        ["bash", str(script)],
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,  # as a pasted command that waits for input would find none
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        output += f"\n(stopped after {RUN_TIMEOUT:g} s)"
    finally:
        _stop_leftovers(folder)
    printed = outputs_by_block(output)
    for block in guide.run_blocks:
        where = f"{path.name}:{block.line}"
        assert str(block.index) in printed, f"{where} did not run; the output so far:\n{output[-4000:]}"
    assert process.returncode == 0 and "end" in printed, (
        f"{path.name}: a command failed (status {process.returncode}); the output:\n{output[-6000:]}"
    )
    for block in guide.run_blocks:
        where = f"{path.name}:{block.line}"
        said = printed[str(block.index)]
        if block.background_ready_at is not None:
            said = (folder / f".doc-bg-{block.index}.log").read_text()
        missing = unmatched(block.expected, said)
        assert missing is None, f"{where} should print {missing!r}; it printed:\n{said[-4000:]}"
