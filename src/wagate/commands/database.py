"""The database as every CLI command opens it: migrated, and checked against the configured keys."""

from __future__ import annotations

import typer
from rich.console import Console
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError

from wagate.clock import clock_from_spec
from wagate.commands.output import errors
from wagate.errors import WagateError
from wagate.services.encryption import open_database
from wagate.settings import Settings
from wagate.store.db import Database
from wagate.store.key_checks import check_keys
from wagate.store.migrate import upgrade

console = Console(soft_wrap=True)


def database(settings: Settings) -> Database:
    """The database, migrated, once the configured keys are known to open it; an error is printed and
    exits with status 1."""
    settings.home.mkdir(parents=True, exist_ok=True)
    try:
        db = open_database(settings)
        upgrade(db)
        check_keys(db, clock_from_spec(settings.clock).now())
    except WagateError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    except OperationalError as exc:
        where = make_url(settings.db_url).render_as_string(hide_password=True)
        errors.print(f"[red]error:[/red] cannot reach the database {where}: {_first_line(exc)}")
        raise typer.Exit(1) from exc
    return db


def _first_line(exc: OperationalError) -> str:
    """The driver's own words (`connection refused`…), without SQLAlchemy's statement and links."""
    text = str(exc.orig) if exc.orig is not None else str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else type(exc.orig).__name__
