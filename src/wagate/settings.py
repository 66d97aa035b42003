"""Typed settings from `WAGATE_*` environment variables and an optional `.env` file.

Built once by the entrypoint (CLI) and passed in; nothing reads the environment at import time.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    sent_delay: float = 0.2
    delivered_delay: float = 0.6
    read_delay: float = 1.5
    journal: bool = True
    # Marketing templates one customer may receive outside a window in 24 hours, from all businesses.
    marketing_per_user_day: int = 2
    # Seconds the fetch of a media link may take, connecting and reading included (30 at most).
    media_link_timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class Settings:
    home: Path = Path("wagate-data")
    # `postgresql://user@host:5432/name` to run on PostgreSQL; empty for SQLite under `home`.
    database_url: str = ""
    # `redis://host:6379/0` to share each number's rate between worker processes; empty: one process
    # paces alone. The prefix keeps deployments that share one Redis apart.
    redis_url: str = ""
    redis_prefix: str = "wagate"
    host: str = "127.0.0.1"
    port: int = 8080
    clock: str = "system"
    # Dispatch
    lease_seconds: float = 30.0
    send_timeout: float = 10.0
    reconciliation_window: float = 60.0
    max_in_flight: int = 256
    ttl_class1: float = 24 * 3600.0
    ttl_class2: float = 30 * 24 * 3600.0
    ttl_class3: float = 30 * 24 * 3600.0
    retry_base: float = 1.0
    retry_max: float = 15 * 60.0
    idempotency_ttl: float = 24 * 3600.0
    # Meta: the app's secret signs webhooks both ways; the verify token answers Meta's handshake.
    meta_app_secret: str = ""
    meta_verify_token: str = ""
    graph_base_url: str = "https://graph.facebook.com"
    graph_version: str = "v23.0"
    # Outbound calls to private, loopback and link-local addresses are refused unless this is set.
    allow_private_targets: bool = False
    # Encryption at rest: `id:base64key[,id:base64key...]`, the first seals (`wagate keys generate`).
    # Empty on SQLite: a key is created in `home/keys`. Required on PostgreSQL.
    encryption_keys: str = ""
    # Webhooks to the business
    webhook_max_age: float = 7 * 24 * 3600.0
    webhook_concurrency: int = 4
    webhook_timeout: float = 10.0
    webhook_retry_base: float = 5.0
    webhook_retry_max: float = 3600.0
    # Media
    media_retention: float = 30 * 24 * 3600.0
    media_link_max_bytes: int = 100 * 1024 * 1024
    # Caps on request bodies (bytes), refused with 413 before they are read whole. The Cloud API's is
    # Meta's 3 MB cap on a notification: no valid send comes near it. Media uploads are capped at the
    # largest file WhatsApp takes (100 MB), Meta's notifications at 3 MB.
    body_limit_cloud: int = 3 * 1024 * 1024
    body_limit_api: int = 1024 * 1024
    body_limit_import: int = 50 * 1024 * 1024
    simulator: SimulatorSettings = field(default_factory=SimulatorSettings)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'wagate.db'}"

    def ttl_for_class(self, priority: int) -> float:
        return {1: self.ttl_class1, 2: self.ttl_class2}.get(priority, self.ttl_class3)


def _read_dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def _coerce(raw: str, kind: Any) -> Any:
    if kind in (float, "float"):
        return float(raw)
    if kind in (int, "int"):
        return int(raw)
    if kind in (bool, "bool"):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if kind in (Path, "Path"):
        return Path(raw)
    return raw


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from `.env` in the working directory, then the environment, then `overrides`."""
    source = {**_read_dotenv(Path(".env")), **(os.environ if env is None else env)}
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        if f.name == "simulator":
            continue
        raw = source.get(f"WAGATE_{f.name.upper()}")
        if raw is not None:
            values[f.name] = _coerce(raw, f.type)
    sim: dict[str, Any] = {}
    for f in dataclasses.fields(SimulatorSettings):
        raw = source.get(f"WAGATE_SIMULATOR_{f.name.upper()}")
        if raw is not None:
            sim[f.name] = _coerce(raw, f.type)
    values["simulator"] = SimulatorSettings(**sim)
    values.update(overrides)
    return Settings(**values)
