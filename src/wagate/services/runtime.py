"""What every use case needs, assembled once by the composition root (`web/app.py`, the CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from wagate.clock import Clock
from wagate.domain.access import Caller
from wagate.domain.policy_settings import PolicySettings
from wagate.domain.templates import StoredTemplate
from wagate.domain.tenancy import PhoneNumber
from wagate.services.cache import TtlCache
from wagate.services.meta_app import MetaApp
from wagate.services.metrics import Metrics
from wagate.settings import Settings
from wagate.store.db import Database
from wagate.upstreams.base import Upstream

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from wagate.upstreams.simulator import SimulatorUpstream


class Role(StrEnum):
    """What a process runs: everything (`wagate serve`), the HTTP API only, or the workers only."""

    ALL = "all"
    API = "api"
    WORKER = "worker"

    @property
    def serves_api(self) -> bool:
        return self is not Role.WORKER

    @property
    def runs_workers(self) -> bool:
        return self is not Role.API


class Waker:
    """Told when a number has new work; the dispatcher listens."""

    def wake(self, number_id: int) -> None:  # pragma: no cover - replaced by the dispatcher
        return None

    def number_changed(self, number: PhoneNumber) -> None:  # pragma: no cover - replaced by the dispatcher
        """The number's rate or upstream changed in this process: its lane follows at once."""
        return None


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    db: Database
    upstreams: dict[str, Upstream]
    metrics: Metrics
    simulator: SimulatorUpstream | None = None
    role: Role = Role.ALL
    # Shared pacing between worker processes (None: this process paces its numbers alone).
    redis: aioredis.Redis | None = None
    meta_app: MetaApp = field(default_factory=lambda: MetaApp("", ""))
    waker: Waker = field(default_factory=Waker)
    tokens: TtlCache[str, Caller] = field(default_factory=lambda: TtlCache(5.0))
    numbers: TtlCache[int, PhoneNumber] = field(default_factory=lambda: TtlCache(2.0))
    templates: TtlCache[tuple[int, str, str], StoredTemplate | None] = field(
        default_factory=lambda: TtlCache(5.0)
    )
    policies: TtlCache[int, PolicySettings] = field(default_factory=lambda: TtlCache(5.0))
