"""The simulator's journal: an append-only, fsync'd record of every send it accepted.

A send is acknowledged to the caller only after its record is on disk, as a real network would only
answer once it holds the message; concurrent sends share one fsync. Receipt acknowledgements are
appended without waiting. Customers' messages (`in`, which open windows) and marketing preferences
(`pref`) are journalled as sends are. After a crash the journal tells the simulator which receipts it
still owes and which windows are open, and tells a crash test exactly which messages reached
"WhatsApp", and how often.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()


class Journal:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._fd: int | None = None
        self._pending: list[bytes] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._flushing: asyncio.Task[None] | None = None

    def open(self) -> None:
        if self.path is not None and self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    async def close(self) -> None:
        await self.flush()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    async def append_durably(self, record: dict[str, Any]) -> None:
        if self._fd is None:
            return
        self._pending.append(_encoder.encode(record) + b"\n")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush_loop())
        await waiter

    def append(self, record: dict[str, Any]) -> None:
        """Append without waiting; it reaches the disk with the next durable append or flush."""
        if self._fd is not None:
            self._pending.append(_encoder.encode(record) + b"\n")

    async def flush(self) -> None:
        if self._flushing is not None:
            await self._flushing
        if self._pending and self._fd is not None:
            data, self._pending = b"".join(self._pending), []
            await asyncio.to_thread(_write_sync, self._fd, data)

    async def _flush_loop(self) -> None:
        try:
            while self._waiters and self._fd is not None:
                data, self._pending = b"".join(self._pending), []
                waiters, self._waiters = self._waiters, []
                try:
                    await asyncio.to_thread(_write_sync, self._fd, data)
                except OSError as exc:
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_exception(exc)
                    continue
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)
        finally:
            self._flushing = None


def _write_sync(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.fsync(fd)


def read_journal(path: Path) -> Iterator[dict[str, Any]]:
    """Every complete record of a journal; a torn last line (a crash mid-write) is skipped."""
    if not path.exists():
        return
    decoder = msgspec.json.Decoder(dict[str, Any])
    with path.open("rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                break
            try:
                yield decoder.decode(line)
            except msgspec.DecodeError:
                continue
