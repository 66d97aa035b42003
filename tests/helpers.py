"""Shared test helpers: waiting for an eventual state, running `wagate serve` as a user would."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from tests import databases
from wagate.crypto import sealing
from wagate.store.db import Database
from wagate.store.sealed import where_of


async def eventually(
    check: Callable[[], Awaitable[Any]], *, within: float = 10.0, interval: float = 0.02
) -> Any:
    """Poll `check` until it returns a truthy value; fail with its last value after `within` seconds."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {within} s; last value: {last!r}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wagate_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAGATE_")}
    env["WAGATE_HOME"] = str(home)
    if databases.on_postgresql():
        env["WAGATE_DATABASE_URL"] = databases.database_url(home)
        env.update({f"WAGATE_{k.upper()}": v for k, v in databases.redis_settings(home).items()})
    env.update(extra)
    if "WAGATE_DATABASE_URL" in env:
        env.setdefault("WAGATE_ENCRYPTION_KEYS", databases.ENCRYPTION_KEYS)
    return env


def run_cli(home: Path, *args: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "wagate", *args],
        env=wagate_env(home, **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"wagate {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result.stdout


def simulator_refusals(url: str) -> dict[str, int]:
    """The simulator's refusals by rule, from a running wagate's `/metrics` (only those above zero)."""
    text = httpx.get(url + "/metrics", timeout=10.0).text
    found: dict[str, int] = {}
    for line in text.splitlines():
        if line.startswith("wagate_simulator_refusals_total{"):
            labels, _, value = line.rpartition(" ")
            rule = labels.split('rule="', 1)[1].split('"', 1)[0]
            if float(value) > 0:
                found[rule] = int(float(value))
    return found


def bootstrap(home: Path, **env: str) -> dict[str, str]:
    data: dict[str, str] = json.loads(run_cli(home, "bootstrap", "--json", **env))
    return data


class Server:
    """`wagate serve` in a child process, as a user runs it.

    Before it is stopped, its simulator must have refused nothing (wagate checks every rule first),
    unless the server is made with `expect_refusals=True`.
    """

    def __init__(
        self, home: Path, port: int | None = None, *, expect_refusals: bool = False, **env: str
    ) -> None:
        self.home = home
        self.expect_refusals = expect_refusals
        self.port = port or free_port()
        self.env = wagate_env(home, **env)
        self.process: subprocess.Popen[bytes] | None = None
        self.log = home / f"serve-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Server:
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "wagate", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"wagate serve exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"wagate serve did not become healthy: {self.log.read_text()[-3000:]}")

    def check_refusals(self) -> None:
        """Fail if the running server's simulator refused anything (and refusals are not expected)."""
        if self.expect_refusals or self.process is None or self.process.poll() is not None:
            return
        try:
            refused = simulator_refusals(self.url)
        except httpx.HTTPError:
            return  # not answering (a crash test's victim): there is nothing to read
        if refused:
            raise AssertionError(
                f"the simulator refused sends wagate should have caught first: {refused} "
                "(make the Server with expect_refusals=True if the test breaks a rule on purpose)"
            )

    def kill(self, *, check: bool = True) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                if check:
                    self.check_refusals()
            finally:
                self.process.send_signal(signal.SIGKILL)
                self.process.wait(timeout=10)

    def terminate(self) -> int:
        assert self.process is not None
        try:
            self.check_refusals()
        finally:
            self.process.send_signal(signal.SIGTERM)
            code = self.process.wait(timeout=60)
        return code

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        # A test already failing keeps its own error.
        self.kill(check=exc_type is None)


def opened(db: Database, column: Any, value: Any) -> Any:
    """A value as stored in `column`, opened with the database's encryption keys (None stays None)."""
    assert db.keys is not None
    if value is None:
        return None
    if isinstance(value, bytes | memoryview):
        return sealing.open_bytes(db.keys, bytes(value), where_of(column))
    return sealing.open_(db.keys, value, where_of(column))
