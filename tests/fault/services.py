"""Throwaway PostgreSQL and Redis servers for the fault tests.

Each starts on a spare port in a folder of its own, so a test can restart it, kill it or flush it
without touching the shared services the rest of the suite uses. PostgreSQL refuses to run as root:
under root the server runs as the `postgres` user, in a folder that user owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import redis

from tests.helpers import free_port

START_TIMEOUT = 30


def postgres_bindir() -> Path | None:
    """The folder holding `initdb`, `pg_ctl` and `postgres` (the newest installed version)."""
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if found.returncode == 0:
            candidates.append(found.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)
    for folder in candidates:
        path = Path(folder)
        if all((path / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return path
    return None


def _version(folder: str) -> int:
    part = Path(folder).parent.name
    return int(part) if part.isdigit() else 0


def _runs_as_root() -> bool:
    return os.geteuid() == 0


def unavailable() -> str | None:
    """Why the fault tests cannot run here, or None."""
    if postgres_bindir() is None:
        return "the fault tests start their own PostgreSQL and need its server tools (initdb, pg_ctl)"
    if shutil.which("redis-server") is None:
        return "the fault tests start their own Redis and need redis-server"
    if _runs_as_root():
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "PostgreSQL will not run as root and there is no postgres user to run it as"
        if shutil.which("runuser") is None:
            return "PostgreSQL will not run as root and runuser is missing"
    return None


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own: `initdb` in a temporary folder, `pg_ctl` on a spare port."""

    def __init__(self) -> None:
        bindir = postgres_bindir()
        assert bindir is not None
        self.bindir = bindir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="wagate-fault-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/wagate"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if _runs_as_root():
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=check)

    def start(self) -> ThrowawayPostgres:
        if not self.data.exists():
            self.root.chmod(0o755)
            if _runs_as_root():
                shutil.chown(self.root, "postgres", "postgres")
            self._run(
                "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"
            )
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
            "-c max_connections=120 -c fsync=on -c synchronous_commit=on"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "30", "start"
        )
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = 'wagate'").fetchone() is None:
                conn.execute("CREATE DATABASE wagate")
        return self

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop", check=False)

    def restart(self) -> float:
        """Stop as a crash would (immediate: no checkpoint, recovery on start), start again; the
        seconds it was down."""
        down = time.monotonic()
        self.stop("immediate")
        self.start()
        return time.monotonic() - down

    def terminate(self, application_name: str) -> int:
        """`pg_terminate_backend` on every connection whose application name starts with this."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name LIKE %s AND pid <> pg_backend_pid()",
                (application_name + "%",),
            ).fetchall()
        return len(rows)

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class ThrowawayRedis:
    """`redis-server` on a spare port, without persistence, as a deployment's pacing store."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> ThrowawayRedis:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        self.process = subprocess.Popen(
            [*command, "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise AssertionError("redis-server did not start") from None
                time.sleep(0.02)
        client.close()
        return self

    def flushall(self) -> None:
        client = redis.Redis(port=self.port, socket_timeout=1)
        client.flushall()
        client.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def close(self) -> None:
        self.kill()
