"""`wagate orgs`: the deployment operator creates organizations (each with its first API token) and
lists them. An organization cannot create another over the API."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from wagate.clock import clock_from_spec
from wagate.commands.database import database
from wagate.commands.output import errors
from wagate.commands.setup import console
from wagate.settings import load_settings

app = typer.Typer(help="Organizations (tenants) of this deployment.", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="The organization's name."),
    slug: str = typer.Option(..., "--slug", help="Its short name: lowercase letters, digits, hyphens."),
    tier: str = typer.Option("TIER_250", "--tier", help="Its messaging tier (TIER_250 … TIER_UNLIMITED)."),
    as_json: bool = typer.Option(
        False, "--json", help="Print {id, name, slug, messaging_tier, token} as JSON."
    ),
) -> None:
    """Create an organization and print its first API token (shown once: keep it)."""
    from wagate.domain.access import CLI
    from wagate.services.organizations import do_open_organization

    settings = load_settings()
    db = database(settings)
    try:
        org, token = do_open_organization(db, name, slug, tier, CLI, clock_from_spec(settings.clock).now())
    except ValueError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    finally:
        db.stop()
    data = {"id": str(org.id), "name": org.name, "slug": org.slug, "messaging_tier": org.messaging_tier}
    if as_json:
        print(json.dumps({**data, "token": token}))
        return
    console.print(f"Organization {org.slug} created (id {org.id}, {org.messaging_tier}).")
    console.print(f"  token: [bold]{token}[/bold]")
    console.print("The token is shown once; keep it. Add its business accounts with `wagate accounts add`.")


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the organizations, with how many accounts, numbers, templates and tokens each has."""
    from wagate.services.organizations import list_organizations, present

    settings = load_settings()
    db = database(settings)
    try:
        found = list_organizations(db)
    finally:
        db.stop()
    if as_json:
        print(json.dumps([present(s) for s in found]))
        return
    table = Table("id", "slug", "name", "tier", "accounts", "numbers", "templates", "tokens")
    for s in found:
        counts = (s.business_accounts, s.phone_numbers, s.templates, s.active_tokens)
        table.add_row(str(s.id), s.slug, s.name, s.messaging_tier, *(str(n) for n in counts))
    console.print(table)
