"""`wagate numbers`: business numbers of every organization: list them, add one to an account, change
a number's throughput."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from wagate.commands.database import database
from wagate.commands.setup import body, console, organization, run_service
from wagate.services.runtime import Runtime
from wagate.settings import load_settings

app = typer.Typer(help="Business phone numbers.", no_args_is_help=True)


@app.command("list")
def numbers_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the business phone numbers."""
    from wagate.services.tenancy import list_numbers

    settings = load_settings()
    db = database(settings)
    try:
        numbers = list_numbers(db)
    finally:
        db.stop()
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "id": str(n.id),
                        "display_phone_number": n.display_phone_number,
                        "upstream": n.upstream,
                        "rate": n.rate,
                        "waba_id": str(n.waba_id),
                    }
                    for n in numbers
                ]
            )
        )
        return
    table = Table("id", "number", "name", "upstream", "rate (msg/s)", "business account")
    for n in numbers:
        table.add_row(
            str(n.id), n.display_phone_number, n.verified_name, n.upstream, str(n.rate), str(n.waba_id)
        )
    console.print(table)


@app.command("update")
def numbers_update(
    number_id: int = typer.Argument(..., help="The phone number id."),
    rate: int = typer.Option(..., "--rate", help="Messages per second, 1 to 1000."),
) -> None:
    """Change a number's throughput (messages per second); running senders follow within 2 seconds."""
    from wagate.domain.access import CLI
    from wagate.services.numbers import do_change_number, owner_of

    async def change(rt: Runtime) -> dict[str, Any]:
        org = await owner_of(rt, str(number_id))
        return await do_change_number(rt, org, str(number_id), body(rate=rate), CLI)

    number = run_service(change)
    console.print(f"{number['id']} ({number['display_phone_number']}): rate {number['rate']} messages/s")


@app.command("add")
def numbers_add(
    org: str = typer.Option(..., "--org", help="The organization's slug."),
    waba: str = typer.Option(..., "--waba", help="The business account's id."),
    number: str = typer.Option(
        ..., "--number", help='The number in international form, e.g. "+1 650 555 0100".'
    ),
    meta_id: str = typer.Option(None, "--meta-id", help="Its phone number id at Meta (a cloud number)."),
    upstream: str = typer.Option(
        None, "--upstream", help="cloud or simulator (default: cloud for an account at Meta)."
    ),
    rate: int = typer.Option(None, "--rate", help="Messages per second, 1 to 1000 (default 80)."),
    name: str = typer.Option(None, "--name", help="Its display name (default: the account's name)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Add a number to a business account; it can send as soon as a running wagate sees it (2 s)."""
    from wagate.domain.access import CLI
    from wagate.services.numbers import do_add_number

    request = body(
        waba_id=waba,
        display_phone_number=number,
        meta_phone_number_id=meta_id,
        upstream=upstream,
        rate=rate,
        verified_name=name,
    )

    async def add(rt: Runtime) -> dict[str, Any]:
        return await do_add_number(rt, await organization(rt, org), request, CLI)

    added = run_service(add)
    if as_json:
        print(json.dumps(added))
        return
    console.print(
        f"number {added['id']} ({added['display_phone_number']}) added to business account "
        f"{added['waba_id']}: {added['upstream']}, {added['rate']} messages/s"
    )
