"""`wagate operators`: people who log in to an organization (the operator inbox)."""

from __future__ import annotations

import asyncio
import json
import sys

import typer

from wagate.clock import clock_from_spec
from wagate.commands.database import database
from wagate.settings import load_settings

app = typer.Typer(help="Operators: people who log in, with an optional second factor.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@app.command("add")
def add(
    org: str = typer.Option(..., "--org", help="The organization's slug."),
    email: str = typer.Option(..., "--email", help="The operator's e-mail address (their login)."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input instead of prompting."
    ),
) -> None:
    """Add an operator with a password; two-factor login is enrolled over the API."""
    from wagate.domain.access import CLI
    from wagate.errors import ApiError
    from wagate.services.operators import do_create_operator
    from wagate.store.tenancy import org_by_slug

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = load_settings()
    db = database(settings)
    try:
        found = db.read_now(lambda conn: org_by_slug(conn, org))
        if found is None:
            raise _fail(f"no organization {org!r}")
        now = clock_from_spec(settings.clock).now()
        operator = asyncio.run(do_create_operator(db, found, email, password, now, CLI))
    except ApiError as exc:
        raise _fail(exc.message) from exc
    finally:
        db.stop()
    print(json.dumps(operator.to_json()))
