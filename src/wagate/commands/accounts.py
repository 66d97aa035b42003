"""`wagate accounts`: an organization's WhatsApp business accounts, with their Meta credentials.

Secrets never come from the command line (it shows in process lists and shell history): they are
read from standard input (`--access-token-stdin`, `--app-secret-stdin`, one line each, in that order)
or from an environment variable named by `--access-token-env` / `--app-secret-env`."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import typer
from rich.table import Table

from wagate.commands.setup import body, console, organization, run_service
from wagate.services.runtime import Runtime

app = typer.Typer(help="WhatsApp business accounts and their Meta credentials.", no_args_is_help=True)
_ORG = typer.Option(..., "--org", help="The organization's slug.")


def _secret(from_stdin: bool, env_name: str | None, what: str) -> str | None:
    if from_stdin:
        line = sys.stdin.readline().strip()
        if not line:
            raise typer.BadParameter(f"expected the {what} on standard input")
        return line
    if env_name:
        value = os.environ.get(env_name, "").strip()
        if not value:
            raise typer.BadParameter(f"the environment variable {env_name} holding the {what} is empty")
        return value
    return None


def _print(account: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(account))
        return
    at = "at Meta" if account["at_meta"] else "simulator only"
    console.print(f"business account {account['id']} ({account['name']}, {at})")


@app.command("add")
def add(
    org: str = _ORG,
    name: str = typer.Option(..., "--name", help="The account's name."),
    meta_waba_id: str = typer.Option(
        None, "--meta-waba-id", help="Its id at Meta (WhatsApp Business Account id)."
    ),
    access_token_stdin: bool = typer.Option(
        False, "--access-token-stdin", help="Read Meta's token from stdin."
    ),
    access_token_env: str = typer.Option(
        None, "--access-token-env", help="Read Meta's token from this variable."
    ),
    app_secret_stdin: bool = typer.Option(
        False, "--app-secret-stdin", help="Read the app secret from stdin."
    ),
    app_secret_env: str = typer.Option(
        None, "--app-secret-env", help="Read the app secret from this variable."
    ),
    meta_app_id: str = typer.Option(None, "--meta-app-id", help="The Meta app's id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Add a business account: with --meta-waba-id and a token, the one at Meta (its numbers send through
    Meta's Cloud API); without, one of wagate's own whose numbers use the simulator."""
    from wagate.domain.access import CLI
    from wagate.services.accounts import do_create_account

    token = _secret(access_token_stdin, access_token_env, "access token")
    secret = _secret(app_secret_stdin, app_secret_env, "app secret")
    request = body(
        name=name, meta_waba_id=meta_waba_id, access_token=token, app_secret=secret, meta_app_id=meta_app_id
    )

    async def create(rt: Runtime) -> dict[str, Any]:
        return await do_create_account(rt, await organization(rt, org), request, CLI)

    _print(run_service(create), as_json)


@app.command("list")
def list_(org: str = _ORG, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List an organization's business accounts (whether their secrets are set, never the secrets)."""
    from wagate.services.accounts import list_accounts

    async def listed(rt: Runtime) -> list[dict[str, Any]]:
        return await list_accounts(rt, await organization(rt, org))

    found = run_service(listed)
    if as_json:
        print(json.dumps(found))
        return
    table = Table("id", "name", "at Meta", "token", "subscribed", "numbers")
    for a in found:
        token = f"…{a['access_token_last4']}" if a["access_token_set"] else ""
        subscribed = "yes" if a["subscribed_at"] is not None else "no"
        at_meta = "yes" if a["at_meta"] else "no"
        table.add_row(a["id"], a["name"], at_meta, token, subscribed, ", ".join(a["phone_number_ids"]))
    console.print(table)


@app.command("subscribe")
def subscribe(
    account_id: str = typer.Argument(..., help="The business account's id."),
    unsubscribe: bool = typer.Option(False, "--unsubscribe", help="Unsubscribe instead."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Subscribe the Meta app to the account's webhooks at Meta (`POST /{waba_id}/subscribed_apps`)."""
    from wagate.domain.access import CLI
    from wagate.services.accounts import do_subscribe, owner_of

    async def subscribed(rt: Runtime) -> dict[str, Any]:
        org = await owner_of(rt, account_id)
        return await do_subscribe(rt, org, account_id, CLI, subscribe=not unsubscribe)

    account = run_service(subscribed, cloud=True)
    if as_json:
        print(json.dumps(account))
        return
    state = "unsubscribed from" if unsubscribe else "subscribed to"
    console.print(f"business account {account['id']}: the Meta app is {state} its webhooks")


@app.command("check")
def check(org: str = _ORG, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """What the organization still lacks to go live (the checks of docs/going-live.md); asks Meta about
    numbers at Meta. Exits with status 3 while something is missing."""
    from wagate.services.going_live import check_going_live

    async def checked(rt: Runtime) -> dict[str, Any]:
        return await check_going_live(rt, await organization(rt, org))

    found = run_service(checked, cloud=True)
    if as_json:
        print(json.dumps(found))
    else:
        table = Table("", "check", "of", "what was seen", "to do")
        for c in found["checks"]:
            table.add_row(
                "ok" if c["ok"] else "MISSING", c["check"], c["subject"], c["detail"], c["fix"] or ""
            )
        console.print(table)
        console.print("ready to go live" if found["ready"] else "[red]not ready[/red]")
    if not found["ready"]:
        raise typer.Exit(3)
