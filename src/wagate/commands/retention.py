"""`wagate retention`: how long an organization keeps messages and media."""

from __future__ import annotations

import json

import typer

from wagate.clock import clock_from_spec
from wagate.commands.database import database
from wagate.settings import load_settings

app = typer.Typer(help="Retention of messages and media, per organization.", no_args_is_help=True)

_ORG = typer.Option(..., "--org", help="The organization's slug.")


def _show(slug: str, message_days: int | None, media_days: int | None, default_media: float) -> None:
    print(
        json.dumps(
            {
                "organization": slug,
                "message_retention_days": message_days,
                "media_retention_days": media_days,
                "effective": {
                    "message_retention_days": message_days,
                    "media_retention_days": media_days or default_media / 86400,
                },
            }
        )
    )


@app.command("show")
def show(org: str = _ORG) -> None:
    """Print the organization's periods as JSON (null messages: kept forever)."""
    from wagate.store.retention import load_periods
    from wagate.store.tenancy import org_by_slug

    settings = load_settings()
    db = database(settings)
    try:
        found = db.read_now(lambda conn: org_by_slug(conn, org))
        if found is None:
            typer.echo(f"error: no organization {org!r}", err=True)
            raise typer.Exit(2)
        periods = db.read_now(lambda conn: load_periods(conn, found.id))
    finally:
        db.stop()
    _show(org, periods.message_days, periods.media_days, settings.media_retention)


@app.command("set")
def set_periods(
    org: str = _ORG,
    messages_days: int | None = typer.Option(
        None, "--messages-days", help="Keep messages this many days (1 to 3650); omit to keep them forever."
    ),
    media_days: int | None = typer.Option(
        None, "--media-days", help="Keep media this many days (1 to 3650); omit for the deployment default."
    ),
) -> None:
    """Set both periods of the organization (an omitted one goes back to its default)."""
    from wagate.errors import ApiError
    from wagate.services.retention import set_retention
    from wagate.store.tenancy import org_by_slug

    settings = load_settings()
    db = database(settings)
    try:
        found = db.read_now(lambda conn: org_by_slug(conn, org))
        if found is None:
            typer.echo(f"error: no organization {org!r}", err=True)
            raise typer.Exit(2)
        now = clock_from_spec(settings.clock).now()
        periods = set_retention(db, found.id, messages_days, media_days, now)
    except ApiError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    finally:
        db.stop()
    _show(org, periods.message_days, periods.media_days, settings.media_retention)
