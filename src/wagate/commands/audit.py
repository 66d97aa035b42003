"""`wagate audit`: an organization's audit log, listed or exported."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.table import Table

from wagate.commands.database import database
from wagate.settings import load_settings

app = typer.Typer(help="The audit log: who changed what, per organization.", no_args_is_help=True)
console = Console(soft_wrap=True)
_ORG = typer.Option(..., "--org", help="The organization's slug.")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@app.command("list")
def audit_list(
    org: str = _ORG,
    action: str | None = typer.Option(None, "--action", help="Only this action, e.g. token.issue."),
    limit: int = typer.Option(100, "--limit", help="At most this many rows (1 to 1000)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The newest rows of the organization's audit log."""
    from wagate.errors import ApiError
    from wagate.services.audit import check_query, list_audit
    from wagate.store.tenancy import org_by_slug

    settings = load_settings()
    db = database(settings)
    try:
        found = db.read_now(lambda conn: org_by_slug(conn, org))
        if found is None:
            raise _fail(f"no organization {org!r}")
        page = asyncio.run(list_audit(db, found.id, check_query(action=action, limit=str(limit))))
    except ApiError as exc:
        raise _fail(exc.message) from exc
    finally:
        db.stop()
    if as_json:
        print(json.dumps(page["data"]))
        return
    table = Table("id", "at", "actor", "action", "target", "detail", "ip")
    for row in page["data"]:
        target = f"{row['target_type'] or ''} {row['target_id'] or ''}".strip()
        at = datetime.fromtimestamp(row["at"], UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        table.add_row(
            str(row["id"]),
            at,
            row["actor"],
            row["action"],
            target,
            json.dumps(row["detail"]),
            row["ip"] or "",
        )
    console.print(table)


@app.command("export")
def audit_export(
    org: str = _ORG,
    fmt: str = typer.Option("jsonl", "--format", help="jsonl or csv."),
) -> None:
    """Every row of the organization's audit log, oldest first, to standard output."""
    from wagate.errors import ApiError
    from wagate.services.audit import check_format, check_query, export_audit
    from wagate.store.tenancy import org_by_slug

    async def write_all(org_id: int) -> None:
        async for line in export_audit(db, org_id, fmt, check_query()):
            sys.stdout.write(line)

    try:
        check_format(fmt)
    except ApiError as exc:
        raise _fail(exc.message) from exc
    settings = load_settings()
    db = database(settings)
    try:
        found = db.read_now(lambda conn: org_by_slug(conn, org))
        if found is None:
            raise _fail(f"no organization {org!r}")
        asyncio.run(write_all(found.id))
    finally:
        db.stop()
