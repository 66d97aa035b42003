"""`wagate keys`: encryption keys at rest: generate one, see which keys hold values, rotate."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.table import Table

from wagate.commands.database import database
from wagate.commands.output import errors
from wagate.crypto.errors import KeyConfigError
from wagate.crypto.keys import new_key_line
from wagate.media.store import MediaNotStored, SealedMediaStore, media_store, stored_keys
from wagate.settings import load_settings
from wagate.store.key_checks import ForgetKey
from wagate.store.rotation import ROTATE_BATCH, RotateBatch, held_key_ids, values_by_key
from wagate.store.sealed import SEALED_COLUMNS, where_of

keys_app = typer.Typer(help="Encryption keys of the data at rest.", no_args_is_help=True)
console = Console(soft_wrap=True)


@keys_app.command("generate")
def keys_generate(
    key_id: str = typer.Option(None, "--id", help="The key's id (default: a short random one)."),
) -> None:
    """Print a new key as `id:base64key`: put it first in WAGATE_ENCRYPTION_KEYS, then `keys rotate`."""
    try:
        print(new_key_line(key_id))
    except KeyConfigError as exc:
        errors.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


@keys_app.command("status")
def keys_status() -> None:
    """How many values each key holds, per sealed column, and which key seals new ones."""
    db = database(load_settings())
    try:
        report = db.read_now(values_by_key)
        held = db.read_now(held_key_ids)
    finally:
        db.stop()
    assert db.keys is not None
    current = db.keys.current.id
    key_ids = sorted({k for counts in report.values() for k in counts} | {current})
    table = Table("column", *key_ids)
    for where, counts in report.items():
        table.add_row(where, *(str(counts.get(k, 0)) for k in key_ids))
    console.print(table)
    left = {k: sum(c.get(k, 0) for c in report.values()) for k in key_ids if k != current}
    console.print(f"current key: {current}; keys this database holds values of: {', '.join(held)}")
    if any(left.values()):
        moving = ", ".join(f"{k}: {n}" for k, n in left.items() if n)
        console.print(f"to move: {moving} (wagate keys rotate)")
    else:
        console.print("every value is sealed with the current key")


@keys_app.command("rotate")
def keys_rotate(
    batch: int = typer.Option(ROTATE_BATCH, min=1, max=10000, help="Values re-sealed per transaction."),
) -> None:
    """Re-seal every value under an older key (or still in clear) with the current key.

    Run it after putting the new key first in WAGATE_ENCRYPTION_KEYS and restarting wagate with it;
    wagate keeps serving meanwhile, and a rotation stopped midway resumes where it was."""
    settings = load_settings()
    db = database(settings)
    assert db.keys is not None
    try:
        total = 0
        for column in SEALED_COLUMNS:
            where = where_of(column)
            moved = 0
            while True:
                n = db.write_now(RotateBatch(where, batch))
                if not n:
                    break
                moved += n
            if moved:
                console.print(f"{where}: {moved} values re-sealed")
            total += moved
        files = media_store(settings, db.keys)
        moved = sum(asyncio.run(_reseal(files, stored_keys(settings))))
        if moved:
            console.print(f"media: {moved} files re-sealed")
        total += moved
        report = db.read_now(values_by_key)
        current = db.keys.current.id
        for key_id in db.read_now(held_key_ids):
            if key_id != current and not any(counts.get(key_id) for counts in report.values()):
                db.write_now(ForgetKey(key_id))
                console.print(f"key {key_id} holds no value any more: it may leave WAGATE_ENCRYPTION_KEYS")
        left = sum(n for counts in report.values() for k, n in counts.items() if k != current)
    finally:
        db.stop()
    console.print(f"{total} values re-sealed with key {current}")
    if left:
        console.print(
            f"[yellow]{left} values are still under another key or in clear: is every process "
            f"running with key {current} first?[/yellow]"
        )
        raise typer.Exit(1)


async def _reseal(files: SealedMediaStore, keys: list[str]) -> list[int]:
    moved = []
    for key in keys:
        try:
            moved.append(int(await files.reseal(key)))
        except MediaNotStored:
            moved.append(0)  # deleted meanwhile (retention, erasure)
    return moved
