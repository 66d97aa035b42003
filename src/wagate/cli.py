"""The `wagate` command: serve, bootstrap the demo, manage numbers, migrate."""

from __future__ import annotations

import dataclasses
import json
import logging
import shlex
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from wagate.clock import clock_from_spec
from wagate.commands import accounts as accounts_commands
from wagate.commands import audit as audit_commands
from wagate.commands import numbers as numbers_commands
from wagate.commands import operators as operators_commands
from wagate.commands import orgs as orgs_commands
from wagate.commands import retention as retention_commands
from wagate.commands import tokens as tokens_commands
from wagate.commands.database import database
from wagate.commands.keys import keys_app
from wagate.commands.output import errors
from wagate.settings import Settings, load_settings
from wagate.store.db import Database

if TYPE_CHECKING:
    from wagate.services.runtime import Role, Runtime
    from wagate.services.template_sync import AccountSync
    from wagate.services.tenancy import MetaNumber

app = typer.Typer(help="wagate: a self-hosted WhatsApp Business messaging platform.", no_args_is_help=True)
app.add_typer(numbers_commands.app, name="numbers")
app.add_typer(orgs_commands.app, name="orgs")
app.add_typer(accounts_commands.app, name="accounts")
app.add_typer(tokens_commands.app, name="tokens")
app.add_typer(audit_commands.app, name="audit")
app.add_typer(operators_commands.app, name="operators")
webhooks_app = typer.Typer(
    help="Webhooks to the business: subscriptions and deliveries.", no_args_is_help=True
)
app.add_typer(webhooks_app, name="webhooks")
templates_app = typer.Typer(help="Message templates.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")
app.add_typer(retention_commands.app, name="retention")
app.add_typer(keys_app, name="keys")
console = Console(soft_wrap=True)


def _register_at_fake_meta(url: str) -> MetaNumber:
    """A new number (and business account) at the fake Meta, by its control API."""
    import urllib.request

    from wagate.services.tenancy import MetaNumber

    request = urllib.request.Request(
        f"{url}/api/v1/simulator/numbers",
        # The demo organization is on the unlimited tier; so is its account at the fake Meta.
        data=b'{"messaging_limit": null}',
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            created = json.loads(response.read())
    except OSError as exc:
        errors.print(f"[red]cannot reach the fake Meta at {url}: {exc}[/red]")
        raise typer.Exit(1) from exc
    return MetaNumber(
        int(created["waba_id"]),
        int(created["phone_number_id"]),
        created["display_phone_number"],
        created["access_token"],
    )


def _stopped(signum: int, frame: object) -> None:
    return None


@app.command()
def serve(
    host: str = typer.Option(None, help="Address to listen on (default 127.0.0.1, or WAGATE_HOST)."),
    port: int = typer.Option(None, help="Port to listen on (default 8080, or WAGATE_PORT)."),
    api_only: bool = typer.Option(
        False, "--api-only", help="Serve the HTTP API only; `wagate worker` processes send (PostgreSQL)."
    ),
) -> None:
    """Run the API and the workers in one process (SQLite and the simulator by default)."""
    from wagate.services.runtime import Role

    overrides: dict[str, Any] = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    settings = load_settings(**overrides)
    rt = _runtime(settings, Role.API if api_only else Role.ALL)
    base = f"http://{settings.host}:{settings.port}"
    mode = "API only" if api_only else f"data: {settings.home.resolve()}"
    console.print(f"[bold]wagate[/bold] listening on {base}  ({mode})")
    console.print(f"  API reference: {base}/docs    health: {base}/healthz    metrics: {base}/metrics")
    if not api_only:
        console.print("  Get a token and a number to send from:  wagate bootstrap --json")
    _run_http(rt, settings.host, settings.port)


@app.command()
def worker(
    port: int = typer.Option(
        None, help="Serve /healthz and /metrics on this port (on WAGATE_HOST); none by default."
    ),
) -> None:
    """Run the workers only: send, deliver webhooks, fetch media (PostgreSQL; any number of them)."""
    from wagate.services.runtime import Role

    settings = load_settings()
    rt = _runtime(settings, Role.WORKER)
    redis = "shared through Redis" if settings.redis_url else "not shared: set WAGATE_REDIS_URL"
    console.print(f"[bold]wagate worker[/bold] started  (pacing {redis})")
    if port is not None:
        console.print(f"  health: http://{settings.host}:{port}/healthz")
        _run_http(rt, settings.host, port)
        return
    _run_worker(rt)


def _runtime(settings: Settings, role: Role) -> Runtime:
    from wagate.errors import WagateError
    from wagate.store.key_checks import check_keys
    from wagate.store.migrate import upgrade
    from wagate.web.app import build_runtime

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        rt = build_runtime(settings, role=role)
        # A missing or wrong encryption key is told here, before the server starts.
        upgrade(rt.db)
        check_keys(rt.db, rt.clock.now())
        return rt
    except WagateError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


def _run_worker(rt: Runtime) -> None:
    """Run the workers until SIGTERM or SIGINT, then stop them cleanly."""
    import asyncio

    import uvloop

    from wagate.web.app import running

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        async with running(rt):
            sys.stdout.flush()
            await stop.wait()

    uvloop.run(main())


def _run_http(rt: Runtime, host: str, port: int) -> None:
    import uvicorn

    from wagate.web.app import create_app

    settings = rt.settings
    config = uvicorn.Config(
        create_app(rt),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        proxy_headers=False,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=int(settings.send_timeout) + 5,
    )
    server = uvicorn.Server(config)
    sys.stdout.flush()
    # uvicorn stops cleanly on SIGTERM/SIGINT, then raises the signal again for the previous handler;
    # these handlers make that a normal exit (status 0) once the shutdown is complete.
    signal.signal(signal.SIGTERM, _stopped)
    signal.signal(signal.SIGINT, _stopped)
    server.run()


@app.command()
def bootstrap(
    as_json: bool = typer.Option(
        False,
        "--json",
        help="Print {token, phone_number_id, waba_id, app_secret, verify_token} as JSON.",
    ),
    as_shell: bool = typer.Option(
        False,
        "--shell",
        help="Print the same as shell assignments (TOKEN=…, NUMBER=…, WABA=…, APP_SECRET=…, VERIFY_TOKEN=…): "
        'eval "$(wagate bootstrap --shell)".',
    ),
    fake_meta: str = typer.Option(
        None,
        "--fake-meta",
        help="Put the demo number at this fake Meta (`wagate simulator`) instead of the in-process "
        "simulator: a scale-out deployment on one machine without a Meta account.",
    ),
) -> None:
    """Create the demo organization once (simulator number, seeded templates) and issue a new token.

    Prints five values: the token, the number's and the business account's ids, and the Meta app's
    app_secret and verify_token (which sign and verify webhooks at /webhooks/meta)."""
    from wagate.services.meta_app import ensure_demo_meta_app
    from wagate.services.tenancy import demo_exists, do_bootstrap

    settings = load_settings()
    if fake_meta:
        fake_meta = fake_meta.rstrip("/")
        settings = dataclasses.replace(settings, graph_base_url=fake_meta, allow_private_targets=True)
    db = database(settings)
    try:
        at_meta = _register_at_fake_meta(fake_meta) if fake_meta and not demo_exists(db) else None
        result = do_bootstrap(db, clock_from_spec(settings.clock).now(), at_meta)
    finally:
        db.stop()
    if at_meta is not None:
        import asyncio

        from wagate.web.app import build_runtime

        synced = asyncio.run(_sync_templates(build_runtime(settings), 100))
        if any(r.error for r in synced):
            errors.print(f"[red]templates sync with the fake Meta failed: {synced}[/red]")
            raise typer.Exit(1)
    meta_app = ensure_demo_meta_app(settings)
    data = {
        "token": result.token,
        "phone_number_id": str(result.phone_number_id),
        "waba_id": str(result.waba_id),
        "app_secret": meta_app.app_secret,
        "verify_token": meta_app.verify_token,
    }
    if as_json:
        print(json.dumps(data))
        return
    if as_shell:
        names = {"token": "TOKEN", "phone_number_id": "NUMBER", "waba_id": "WABA"}
        for key, value in data.items():
            print(f"{names.get(key, key.upper())}={shlex.quote(value)}")
        return
    console.print(
        "Demo organization " + ("created." if result.created else "already there; new token issued.")
    )
    for key, value in data.items():
        console.print(f"  {key}: [bold]{value}[/bold]")
    console.print(
        "The token is shown once; keep it. app_secret and verify_token belong to the Meta app "
        "whose webhooks arrive at /webhooks/meta."
    )


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@webhooks_app.command("listen")
def webhooks_listen(
    port: int = typer.Option(9000, "--port", help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    secret: str = typer.Option(
        None, "--secret", help="The subscription's secret: each delivery's signature is checked with it."
    ),
    verify_token: str = typer.Option(
        None, "--verify-token", help="Answer Meta's verification handshake only with this token."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="One line per delivery, without the body."),
) -> None:
    """A webhook receiver on this machine: prints each delivery, checks its signature, answers 200
    (401 when the signature is wrong), and answers the verification handshake of `meta` subscriptions."""
    from wagate.commands.listen import listen

    listen(host, port, secret, verify_token, quiet)


@webhooks_app.command("list")
def webhooks_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List webhook subscriptions of every organization (never their secrets)."""
    from wagate.services.webhooks import all_subscriptions

    settings = load_settings()
    db = database(settings)
    try:
        subs = all_subscriptions(db)
    finally:
        db.stop()
    rows: list[dict[str, Any]] = [
        {
            "id": s.id,
            "organization_id": s.org_id,
            "url": s.url,
            "format": s.format,
            "phone_number_ids": None if s.phone_number_ids is None else [str(n) for n in s.phone_number_ids],
            "event_types": s.event_types,
            "max_concurrency": s.max_concurrency,
            "active": s.active,
        }
        for s in subs
    ]
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("id", "organization", "url", "format", "numbers", "events", "concurrency", "active")
    for r in rows:
        table.add_row(
            str(r["id"]),
            str(r["organization_id"]),
            r["url"],
            r["format"],
            ", ".join(r["phone_number_ids"] or ["all"]),
            ", ".join(r["event_types"] or ["all"]),
            str(r["max_concurrency"]),
            "yes" if r["active"] else "no",
        )
    console.print(table)


@webhooks_app.command("replay")
def webhooks_replay(
    subscription: int = typer.Option(None, "--subscription", help="Only this subscription's deliveries."),
    state: str = typer.Option(
        None, "--state", help="Only deliveries in this state: dead, delivered, pending."
    ),
    since: float = typer.Option(None, "--since", help="Only events created at or after this Unix time."),
) -> None:
    """Send deliveries again, due now with their attempts reset (dead ones when no filter is given)."""
    from wagate.errors import ApiError
    from wagate.services.webhooks import replay_deliveries

    settings = load_settings()
    db = database(settings)
    try:
        count = replay_deliveries(
            db, clock_from_spec(settings.clock).now(), subscription_id=subscription, state=state, since=since
        )
    except ApiError as exc:
        errors.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    finally:
        db.stop()
    console.print(f"{count} {'delivery' if count == 1 else 'deliveries'} replayed")


@templates_app.command("list")
def templates_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the message templates of every business account."""
    from wagate.services.templates import list_all_templates

    settings = load_settings()
    db = database(settings)
    try:
        found = list_all_templates(db)
    finally:
        db.stop()
    rows = [
        {
            "id": str(t.id),
            "waba_id": str(t.waba_id),
            "name": t.name,
            "language": t.language,
            "category": t.category,
            "status": t.status,
        }
        for t in found
    ]
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("name", "language", "category", "status", "id", "business account")
    for r in rows:
        table.add_row(r["name"], r["language"], r["category"], r["status"], r["id"], r["waba_id"])
    console.print(table)


@templates_app.command("sync")
def templates_sync(
    page_size: int = typer.Option(
        100, "--page-size", min=1, max=1000, help="Templates per page asked of Meta."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Import the templates of business accounts with a `cloud` number from Meta, keeping Meta's ids."""
    import asyncio
    import dataclasses

    from wagate.web.app import build_runtime

    settings = load_settings()
    # This process runs no simulator: the serving process's simulator serves no `cloud` account anyway.
    rt = build_runtime(settings, with_simulator=False)
    results = asyncio.run(_sync_templates(rt, page_size))
    if as_json:
        print(json.dumps([dataclasses.asdict(r) for r in results]))
    else:
        table = Table("business account", "created", "updated", "unchanged", "skipped", "error")
        for r in results:
            counts = (r.created, r.updated, r.unchanged, r.skipped)
            table.add_row(str(r.waba_id), *(str(n) for n in counts), r.error or "")
        console.print(table if results else "no business account has a cloud number")
    if any(r.error for r in results):
        raise typer.Exit(1)


async def _sync_templates(rt: Runtime, page_size: int) -> list[AccountSync]:
    from wagate.services.template_sync import do_sync_templates
    from wagate.services.upstreams import at_meta
    from wagate.store.migrate import upgrade

    cloud = at_meta(rt)
    assert cloud is not None
    upgrade(rt.db)
    rt.db.start()

    async def no_ingest(body: bytes) -> None:
        return None

    await cloud.start(no_ingest)
    try:
        return await do_sync_templates(rt, cloud, page_size)
    finally:
        await cloud.close()
        rt.db.stop()


@app.command()
def simulator(
    port: int = typer.Option(8090, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    webhook_url: str = typer.Option(..., help="Where to send signed webhooks (wagate's /webhooks/meta)."),
    app_secret: str = typer.Option(..., help="The Meta app secret that signs the webhooks."),
    home: str = typer.Option("wagate-simulator", help="Folder for the journal and the numbers."),
) -> None:
    """Run the WhatsApp simulator alone, as a fake Meta Graph API over HTTP."""
    import uvicorn

    from wagate.clock import SystemClock
    from wagate.upstreams.simulator.server import FakeMeta, create_fake_meta

    settings = load_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    meta = FakeMeta(
        Path(home),
        webhook_url,
        app_secret,
        SystemClock(),
        settings.simulator,
        allow_private=settings.allow_private_targets,
    )
    console.print(
        f"[bold]wagate simulator[/bold] (fake Meta) on http://{host}:{port}; webhooks to {webhook_url}"
    )
    console.print(f"  create a number: curl -X POST http://{host}:{port}/api/v1/simulator/numbers")
    sys.stdout.flush()
    signal.signal(signal.SIGTERM, _stopped)
    signal.signal(signal.SIGINT, _stopped)
    uvicorn.Server(
        uvicorn.Config(
            create_fake_meta(meta),
            host=host,
            port=port,
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=False,
            proxy_headers=False,
        )
    ).run()


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from wagate.store.migrate import upgrade

    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    # The schema needs no encryption key: an empty database made ready for `migrate-data` stays empty.
    db = Database(settings.db_url)
    try:
        upgrade(db)
    finally:
        db.stop()
    console.print("database schema is up to date")


@app.command("migrate-data")
def migrate_data(
    source: str = typer.Option(
        None, "--from", help="The SQLite database to copy (default: wagate.db under WAGATE_HOME)."
    ),
    target: str = typer.Option(
        None, "--to", help="The empty PostgreSQL database to copy into (default: WAGATE_DATABASE_URL)."
    ),
) -> None:
    """Copy a SQLite deployment's data into an empty PostgreSQL database (stop wagate first)."""
    from wagate.store.data_copy import DataCopyError, do_copy_data, masked_url

    settings = load_settings()
    source_url = source or f"sqlite:///{(settings.home / 'wagate.db').resolve()}"
    target_url = target or settings.database_url
    if not target_url:
        errors.print("[red]error:[/red] give the PostgreSQL database with --to or WAGATE_DATABASE_URL")
        raise typer.Exit(1)
    console.print(
        f"copying {masked_url(source_url)} into {masked_url(target_url)}; "
        "wagate must be stopped: nothing may write to the SQLite database meanwhile"
    )
    try:
        copied = do_copy_data(source_url, target_url)
    except DataCopyError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    table = Table("table", "rows")
    for entry in copied:
        table.add_row(entry.name, str(entry.rows))
    console.print(table)
    total = sum(entry.rows for entry in copied)
    console.print(f"copied {total} rows in {len(copied)} tables into {masked_url(target_url)}")


def main() -> None:
    app()
