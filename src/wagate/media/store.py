"""Where media bytes live: a small interface, a local-disk implementation and an in-memory one.

Keys are opaque names chosen by wagate (`new_key`); the database row names the key, so a file
without a row is garbage and a row's file is written before the row is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import Protocol

from wagate.crypto import sealing
from wagate.crypto.errors import KeyConfigError
from wagate.crypto.keys import KeyRing
from wagate.settings import Settings

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,199}")


class MediaNotStored(LookupError):
    """No bytes under this key (deleted, or never written)."""


class MediaStore(Protocol):
    async def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key` durably; a reader sees all of it or nothing."""
        ...

    async def read(self, key: str) -> bytes:
        """The bytes under `key`; `MediaNotStored` if there are none."""
        ...

    async def delete(self, key: str) -> None:
        """Forget `key`; nothing happens if it is not there."""
        ...


def new_key() -> str:
    return secrets.token_hex(16)


def check_key(key: str) -> str:
    # Keys become file names: refuse anything that could leave the directory.
    if not _KEY.fullmatch(key):
        raise ValueError(f"invalid media storage key {key!r}")
    return key


class LocalMediaStore:
    """Files in one directory, named by key, written through a temporary file, fsync and rename."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, self.path(key), data)

    def _put(self, path: Path, data: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        temp = self.root / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            with temp.open("wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        # The rename is durable only once the directory is.
        fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    async def read(self, key: str) -> bytes:
        path = self.path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise MediaNotStored(key) from None

    async def delete(self, key: str) -> None:
        path = self.path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)


class MemoryMediaStore:
    """For tests and throwaway deployments: nothing survives the process."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    async def put(self, key: str, data: bytes) -> None:
        self.files[check_key(key)] = bytes(data)

    async def read(self, key: str) -> bytes:
        try:
            return self.files[key]
        except KeyError:
            raise MediaNotStored(key) from None

    async def delete(self, key: str) -> None:
        self.files.pop(key, None)


class SealedMediaStore:
    """Any store, with the bytes sealed at rest (AES-GCM, bound to their key) and opened on reading.

    A file written before encryption is read as it is; `wagate keys rotate` seals it."""

    def __init__(self, inner: MediaStore, keys: KeyRing) -> None:
        self.inner = inner
        self.keys = keys

    async def put(self, key: str, data: bytes) -> None:
        await self.inner.put(key, sealing.seal_bytes(self.keys, data, _where(key)))

    async def read(self, key: str) -> bytes:
        return sealing.open_bytes(self.keys, await self.inner.read(key), _where(key))

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)

    async def reseal(self, key: str) -> bool:
        """Seal the bytes under `key` with the current key if they are not; True if they moved."""
        stored = await self.inner.read(key)
        if sealing.key_id_of(stored) == self.keys.current.id:
            return False
        await self.put(key, sealing.open_bytes(self.keys, stored, _where(key)))
        return True


def _where(key: str) -> str:
    return f"media.{key}"


def media_store(settings: Settings, keys: KeyRing | None) -> SealedMediaStore:
    """The deployment's media store (the local disk under the home directory, for now), sealed."""
    if keys is None:
        raise KeyConfigError("media files are sealed at rest: the database needs its encryption keys")
    return SealedMediaStore(LocalMediaStore(settings.home / "media"), keys)


def stored_keys(settings: Settings) -> list[str]:
    """The keys of the files of the local store (for `wagate keys rotate`)."""
    root = settings.home / "media"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if _KEY.fullmatch(p.name))
