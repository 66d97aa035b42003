"""The composition root: settings in, a running application out."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol

import redis.asyncio as aioredis
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from wagate import __version__
from wagate.clock import Clock, clock_from_spec
from wagate.errors import WagateError
from wagate.media.worker import MediaWorker
from wagate.services import simulator_sync
from wagate.services.cache import TtlCache
from wagate.services.encryption import encryption_keys
from wagate.services.ingest import ingest
from wagate.services.meta_app import load_meta_app
from wagate.services.metrics import Metrics
from wagate.services.runtime import Role, Runtime
from wagate.settings import Settings
from wagate.store.db import Database
from wagate.store.key_checks import check_keys
from wagate.store.messages import outbox_depths
from wagate.store.migrate import upgrade
from wagate.store.tenancy import access_token_of
from wagate.upstreams.base import Upstream
from wagate.upstreams.cloud import CloudUpstream
from wagate.upstreams.simulator import SimulatorUpstream
from wagate.web import (
    accounts_api,
    api_v1,
    audit_api,
    cloud_routes,
    consent_api,
    contacts_api,
    conversations_api,
    docs_routes,
    going_live_api,
    media_routes,
    meta_webhooks,
    number_lifecycle_routes,
    numbers_api,
    operators_api,
    ops,
    organizations_api,
    policy_api,
    retention_api,
    simulator_routes,
    templates_routes,
    tokens_api,
    webhooks_api,
)
from wagate.web.body_limits import BodyLimits
from wagate.web.errors import handle_error
from wagate.web.fast_paths import FastPaths
from wagate.web.openapi import ApiReference
from wagate.web.operations import Operation
from wagate.workers.consent_replies import ConsentReplies
from wagate.workers.consumer import EventConsumer
from wagate.workers.dispatcher import Dispatcher
from wagate.workers.key_rotator import KeyRotator
from wagate.workers.listener import Listener
from wagate.workers.retention import RetentionWorker
from wagate.workers.template_reviewer import TemplateReviewer
from wagate.workers.webhook_sender import WebhookFanOut, WebhookSender

log = logging.getLogger(__name__)


def build_runtime(
    settings: Settings, clock: Clock | None = None, role: Role = Role.ALL, *, with_simulator: bool = True
) -> Runtime:
    """Everything a process needs. The in-process simulator belongs to the single process
    (`wagate serve`): processes of a scale-out deployment, and the CLI's commands beside a serving
    process (`with_simulator=False`), send through Meta (or the fake Meta)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    clock = clock or clock_from_spec(settings.clock)
    db = Database(settings.db_url, encryption_keys(settings))
    if role is not Role.ALL and db.is_sqlite:
        raise WagateError(
            "more than one process needs PostgreSQL: set WAGATE_DATABASE_URL=postgresql://… "
            "(see docs/deployment.md), or run everything in one process with `wagate serve`"
        )
    simulator = None
    if role is Role.ALL and with_simulator:
        journal = settings.home / "simulator" / "journal.jsonl"
        simulator = SimulatorUpstream(
            clock, settings.simulator, journal, allow_private=settings.allow_private_targets
        )
    tokens: TtlCache[int, str | None] = TtlCache(30.0)

    async def token_for(waba_id: int) -> str | None:
        token = tokens.get(waba_id)
        if token is None:
            token = await db.read(lambda conn: access_token_of(conn, waba_id))
            tokens.put(waba_id, token)
        return token

    upstreams: dict[str, Upstream] = {"cloud": CloudUpstream(settings, token_for)}
    if simulator is not None:
        upstreams["simulator"] = simulator
    redis = None
    if settings.redis_url and role.runs_workers:
        # Short timeouts: a Redis that does not answer quickly is treated as down, and each worker
        # paces at its share of the rate until it answers again.
        redis = aioredis.Redis.from_url(settings.redis_url, socket_timeout=0.25, socket_connect_timeout=0.25)
    return Runtime(
        meta_app=load_meta_app(settings),
        settings=settings,
        clock=clock,
        db=db,
        upstreams=upstreams,
        metrics=Metrics(),
        simulator=simulator,
        role=role,
        redis=redis,
    )


@contextlib.asynccontextmanager
async def running(rt: Runtime) -> AsyncIterator[Runtime]:
    """Start the database writer, the upstreams and the dispatcher; stop them in reverse order."""
    upgrade(rt.db)
    check_keys(rt.db, rt.clock.now())  # a missing or wrong key stops here, before any write
    rt.db.start()
    rt.metrics.watch_queue(lambda: rt.db.read_now(outbox_depths))
    rt.metrics.watch_database(lambda: (rt.db.commits, rt.db.jobs_committed))

    async def ingest_from_simulator(body: bytes) -> None:
        await ingest(rt, body, "simulator")

    for upstream in rt.upstreams.values():
        await upstream.start(ingest_from_simulator)
    simulator = rt.simulator
    if simulator is not None:
        rt.metrics.watch_simulator(lambda: dict(simulator.rules.refusals))
    await simulator_sync.sync_all(rt)
    try:
        if rt.role.runs_workers:
            async with workers_running(rt):
                yield rt
        else:
            yield rt
    finally:
        for upstream in rt.upstreams.values():
            await upstream.close()
        if rt.redis is not None:
            await rt.redis.aclose()
        rt.db.stop()


@contextlib.asynccontextmanager
async def workers_running(rt: Runtime) -> AsyncIterator[None]:
    """The dispatcher, the template reviewer, the webhook sender, media downloads and retention; on
    PostgreSQL, woken by the API processes' notifications."""
    dispatcher = Dispatcher(rt)
    rt.waker = dispatcher
    await dispatcher.begin()
    listener = None
    if not rt.db.is_sqlite:
        listener = Listener(rt.settings.db_url, dispatcher.wake)
        listener.start()
    template_reviewer = TemplateReviewer(rt)
    template_reviewer.start()
    webhook_sender = WebhookSender(rt)
    await webhook_sender.begin()
    # Each follows the event stream with a cursor of its own (workers/consumer.py).
    consumers: list[EventConsumer] = [WebhookFanOut(rt, webhook_sender), ConsentReplies(rt)]
    for consumer in consumers:
        consumer.start()
    media_worker = MediaWorker(rt)
    media_worker.start()
    retention_worker = RetentionWorker(rt)
    retention_worker.start()
    key_rotator = KeyRotator(rt)
    key_rotator.start()
    try:
        yield
    finally:
        await key_rotator.stop()
        await retention_worker.stop()
        await media_worker.stop()
        for consumer in consumers:
            await consumer.stop()
        await webhook_sender.shutdown()
        await template_reviewer.stop()
        if listener is not None:
            await listener.stop()
        await dispatcher.shutdown()


class RouteModule(Protocol):
    """A module of routes: what it serves, and how the API reference describes it."""

    def routes(self) -> Sequence[BaseRoute]: ...

    def operations(self) -> Sequence[Operation]: ...


def create_app(rt: Runtime) -> ASGIApp:
    if not rt.role.serves_api:
        return _ops_app(rt)
    modules: list[RouteModule] = [
        ops,
        docs_routes,
        api_v1,
        meta_webhooks,
        conversations_api,
        contacts_api,
        consent_api,
        policy_api,
        webhooks_api,
        retention_api,
        organizations_api,
        accounts_api,
        going_live_api,
        numbers_api,
        tokens_api,
        audit_api,
        operators_api,
    ]
    if rt.simulator is not None:
        modules.append(simulator_routes)
    # Graph paths last: `/{version}/{object_id}` would take the paths above.
    modules += [media_routes, number_lifecycle_routes, templates_routes, cloud_routes]
    route_list = [route for module in modules for route in module.routes()]
    app = Starlette(
        routes=route_list,
        lifespan=_lifespan(rt),
        exception_handlers={
            WagateError: handle_error,
            HTTPException: handle_error,
            OperationalError: handle_error,
            Exception: handle_error,
        },
    )
    app.state.rt = rt
    app.state.reference = ApiReference([op for module in modules for op in module.operations()], __version__)
    return BodyLimits(FastPaths(app, rt), rt.settings)


def _ops_app(rt: Runtime) -> ASGIApp:
    """A worker's health and metrics, and nothing else."""
    app = Starlette(routes=ops.routes(), lifespan=_lifespan(rt), exception_handlers={Exception: handle_error})
    app.state.rt = rt
    return app


def _lifespan(rt: Runtime) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    """The application's life: `running(rt)` from start-up to shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with running(rt):
            yield

    return lifespan
