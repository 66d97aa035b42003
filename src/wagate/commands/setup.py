"""What the organization setup commands (`orgs`, `accounts`, `numbers`) share: a runtime to run the
same services the API runs, and their errors told on the terminal."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import msgspec
import typer
from rich.console import Console

from wagate.commands.output import errors
from wagate.domain.tenancy import Organization
from wagate.errors import ApiError, WagateError
from wagate.services.runtime import Runtime
from wagate.settings import load_settings

T = TypeVar("T")
console = Console(soft_wrap=True)


def body(**fields: object) -> bytes:
    """Options as the API's request body (those given), so the command and the API check them alike."""
    return msgspec.json.encode({k: v for k, v in fields.items() if v is not None})


def run_service(fn: Callable[[Runtime], Awaitable[T]], *, cloud: bool = False) -> T:
    """Run a service against the configured database (and the cloud upstream when `cloud`); an error is
    printed and exits with status 2 (1 when the database cannot be opened)."""
    from wagate.store.key_checks import check_keys
    from wagate.store.migrate import upgrade
    from wagate.web.app import build_runtime

    settings = load_settings()
    try:
        # This process runs no simulator: the serving process's is the one the numbers use.
        rt = build_runtime(settings, with_simulator=False)
        upgrade(rt.db)
        check_keys(rt.db, rt.clock.now())
    except WagateError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc

    async def main() -> T:
        upstreams = list(rt.upstreams.values())
        rt.db.start()
        if cloud:

            async def no_ingest(body: bytes) -> None:
                return None

            for upstream in upstreams:
                await upstream.start(no_ingest)
        try:
            return await fn(rt)
        finally:
            for upstream in upstreams:
                await upstream.close()
            rt.db.stop()

    try:
        return asyncio.run(main())
    except ApiError as exc:
        errors.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    except (ValueError, LookupError) as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    except (WagateError, OSError) as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


async def organization(rt: Runtime, slug: str) -> Organization:
    from wagate.store.tenancy import org_by_slug

    org = await rt.db.read(lambda conn: org_by_slug(conn, slug))
    if org is None:
        raise LookupError(f"no organization {slug!r}")
    return org
