"""`wagate tokens`: issue (with scopes and expiry), list and revoke API tokens."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.table import Table

from wagate.clock import clock_from_spec
from wagate.commands.database import database
from wagate.settings import load_settings

app = typer.Typer(help="API tokens: scopes send, read, manage; optional expiry.", no_args_is_help=True)
console = Console(soft_wrap=True)


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@app.command("issue")
def issue(
    org: str = typer.Option(..., "--org", help="The organization's slug."),
    name: str = typer.Option(..., "--name", help="What the token is for, e.g. crm-sync."),
    scope: list[str] = typer.Option(  # noqa: B008 - Typer declares options this way
        [], "--scope", help="send, read or manage; repeat for several. None given: all three."
    ),
    expires_in: str | None = typer.Option(None, "--expires-in", help="e.g. 12h, 30d, 2w; none: never."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Issue a token and print it, once: only its hash is kept."""
    from wagate.domain.access import CLI, ScopeError, parse_duration, parse_scopes
    from wagate.errors import ApiError
    from wagate.services.access import do_issue_token
    from wagate.store.tenancy import org_by_slug

    try:
        scopes = parse_scopes(scope)
        seconds = None if expires_in is None else parse_duration(expires_in)
    except ScopeError as exc:
        raise _fail(str(exc)) from exc
    settings = load_settings()
    db = database(settings)
    try:
        found = db.read_now(lambda conn: org_by_slug(conn, org))
        if found is None:
            raise _fail(f"no organization {org!r}")
        now = clock_from_spec(settings.clock).now()
        issued = asyncio.run(do_issue_token(db, found, name, scopes, seconds, now, CLI))
    except ApiError as exc:
        raise _fail(exc.message) from exc
    finally:
        db.stop()
    if as_json:
        print(json.dumps(issued.to_json()))
        return
    console.print(f"token {issued.id} for {org} ({', '.join(issued.to_json()['scopes'])}):")
    print(issued.token)
    if issued.expires_at is not None:
        console.print(f"expires {_when(issued.expires_at)}")
    console.print("The token is shown once; keep it.")


@app.command("list")
def tokens_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List API tokens (their first characters only: tokens are stored hashed)."""
    from wagate.domain.access import Scope
    from wagate.services.access import list_all_tokens

    settings = load_settings()
    db = database(settings)
    try:
        tokens = list_all_tokens(db, clock_from_spec(settings.clock).now())
    finally:
        db.stop()
    if as_json:
        print(json.dumps(tokens))
        return
    table = Table("id", "organization", "name")
    table.add_column("starts with", no_wrap=True, min_width=13)
    for column in ("scopes", "state", "expires"):
        table.add_column(column, no_wrap=True)
    for t in tokens:
        scopes = "all" if len(t["scopes"]) == len(Scope) else ",".join(t["scopes"])
        expires = _when(t["expires_at"])[:10]  # the day: the table fits 80 columns
        table.add_row(str(t["id"]), t["slug"], t["name"], t["prefix"] + "…", scopes, t["state"], expires)
    console.print(table)


@app.command("revoke")
def revoke(token_id: int = typer.Argument(..., help="The token id from `wagate tokens list`.")) -> None:
    """Revoke an API token."""
    from wagate.domain.access import CLI
    from wagate.errors import ApiError
    from wagate.services.access import do_revoke_any_token

    settings = load_settings()
    db = database(settings)
    try:
        asyncio.run(do_revoke_any_token(db, token_id, clock_from_spec(settings.clock).now(), CLI))
    except ApiError as exc:
        raise _fail(exc.message) from exc
    finally:
        db.stop()
    console.print(f"token {token_id} revoked")
