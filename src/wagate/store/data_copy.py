"""Copy a SQLite deployment's rows into an empty PostgreSQL database (`wagate migrate-data`).

Both schemas are brought to head first; then every table is copied parent before child, in batches read
in primary key order, inside one transaction on the target: the copy lands whole or not at all. The
source is read in one transaction that holds SQLite's write lock, so nothing can change it while it is
read (a wagate still running on it waits, then fails its writes: stop it first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Table
from sqlalchemy.exc import ArgumentError, DBAPIError

from wagate.errors import WagateError
from wagate.store.db import Database, engine_url
from wagate.store.migrate import upgrade
from wagate.store.schema import metadata

BATCH_ROWS = 2000
# How long the copy waits for another session's lock on a target table before giving up.
TARGET_LOCK_TIMEOUT = "10s"


class DataCopyError(WagateError):
    """The copy was refused or failed; the target holds none of the source's rows."""


@dataclass(frozen=True, slots=True)
class CopiedTable:
    name: str
    rows: int


def masked_url(url: str) -> str:
    """`url` with its password, if any, replaced by `***` (for messages and logs)."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database URL>"


def check_source_url(url: str) -> Path:
    """The SQLite file `url` names; raises unless it is an existing SQLite database file."""
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite":
        raise DataCopyError(f"the source must be a SQLite database (sqlite:///path), not {masked_url(url)}")
    if not parsed.database or parsed.database == ":memory:":
        raise DataCopyError("the source SQLite URL names no file")
    path = Path(parsed.database)
    if not path.is_file():
        raise DataCopyError(f"there is no SQLite database at {path}")
    return path


def check_target_url(url: str) -> None:
    if _parse(url).get_backend_name() != "postgresql":
        raise DataCopyError(
            f"the target must be a PostgreSQL database (postgresql://...), not {masked_url(url)}"
        )


def do_copy_data(source_url: str, target_url: str, *, batch_rows: int = BATCH_ROWS) -> list[CopiedTable]:
    """Copy every wagate table of the SQLite database at `source_url` into the empty PostgreSQL
    database at `target_url`; the rows copied per table, in the order they were copied."""
    check_source_url(source_url)
    check_target_url(target_url)
    source = Database(source_url)
    target = Database(target_url)
    try:
        # Refused before the upgrade too, so that a target in use is left exactly as it was.
        _check_empty(target.engine, metadata.sorted_tables)
        upgrade(source)
        upgrade(target)
        with (
            _snapshot(source) as src,
            target.engine.connect() as dst,
            dst.begin(),
        ):
            _lock(dst, metadata.sorted_tables)
            return copy_tables(src, dst, metadata.sorted_tables, batch_rows=batch_rows)
    finally:
        source.stop()
        target.stop()


def copy_tables(
    source: Connection, target: Connection, tables: Sequence[Table], *, batch_rows: int = BATCH_ROWS
) -> list[CopiedTable]:
    """Copy `tables` (parents first) from `source` into `target`, whose tables must be empty; reset
    the target's sequences and check the row counts. The caller owns both transactions."""
    _refuse_rows(target, tables)
    copied = [_copy_table(source, target, table, batch_rows) for table in tables]
    _reset_sequences(target, tables)
    for table, result in zip(tables, copied, strict=True):
        in_source, in_target = _count(source, table), _count(target, table)
        if not in_source == in_target == result.rows:
            raise DataCopyError(
                f"{table.name}: {in_source} rows in the source, {result.rows} copied, {in_target} in the "
                "target; nothing was committed"
            )
    return copied


# -- one table --------------------------------------------------------------------------------------
def _copy_table(source: Connection, target: Connection, table: Table, batch_rows: int) -> CopiedTable:
    columns = list(table.columns)
    coerce = [_coercion(column) for column in columns]
    # A nullable reference to the same table is written in a second pass, once every row it may point
    # to is there; a NOT NULL one relies on rows referring only to rows with smaller keys.
    later = {fk.parent.key for fk in table.foreign_keys if fk.column.table is table and fk.parent.nullable}
    # Plain columns: the values as SQLite holds them, without the type's result processing (which
    # fails on a text value in a BLOB column, say).
    query: sa.Select[*tuple[Any, ...]] = (
        sa.select(*(sa.column(c.name) for c in columns))
        .select_from(sa.table(table.name))
        .order_by(*(sa.column(c.name) for c in table.primary_key.columns))
    )
    rows = 0
    result = source.execution_options(yield_per=batch_rows).execute(query)
    for batch in result.partitions():
        values = [
            {
                column.key: None if column.key in later else fix(value)
                for column, fix, value in zip(columns, coerce, row, strict=True)
            }
            for row in batch
        ]
        _insert(target, table, values)
        rows += len(values)
    if later:
        _copy_references(source, target, table, sorted(later), batch_rows)
    return CopiedTable(table.name, rows)


def _insert(target: Connection, table: Table, values: list[dict[str, Any]]) -> None:
    try:
        target.execute(table.insert(), values)
    except DBAPIError as exc:
        raise DataCopyError(f"{table.name}: {_reason(exc)}; nothing was committed") from exc


def _copy_references(
    source: Connection, target: Connection, table: Table, names: list[str], batch_rows: int
) -> None:
    key = list(table.primary_key.columns)
    query: sa.Select[*tuple[Any, ...]] = (
        sa.select(*(sa.column(c.name) for c in key), *(sa.column(n) for n in names))
        .select_from(sa.table(table.name))
        .where(sa.or_(*(sa.column(n).is_not(None) for n in names)))
        .order_by(*(sa.column(c.name) for c in key))
    )
    update = (
        table.update()
        .where(*(c == sa.bindparam(f"key_{c.key}") for c in key))
        .values({n: sa.bindparam(f"new_{n}") for n in names})
    )
    result = source.execution_options(yield_per=batch_rows).execute(query)
    for batch in result.partitions():
        values = [
            {
                **{f"key_{c.key}": row[i] for i, c in enumerate(key)},
                **{f"new_{n}": row[len(key) + i] for i, n in enumerate(names)},
            }
            for row in batch
        ]
        try:
            target.execute(update, values)
        except DBAPIError as exc:
            raise DataCopyError(f"{table.name}: {_reason(exc)}; nothing was committed") from exc


def _coercion(column: sa.Column[Any]) -> Callable[[Any], Any]:
    """What makes a value as SQLite stored it one the column's PostgreSQL type accepts.

    SQLite keeps whatever it was given: text in a BLOB column, a BLOB in a TEXT one. Numbers need
    nothing (0/1 flags live in integer columns; PostgreSQL casts an integer to a float column)."""
    if isinstance(column.type, sa.LargeBinary):
        return _as_bytes
    if isinstance(column.type, sa.String):
        return _as_text
    return _unchanged


def _as_bytes(value: Any) -> Any:
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return str(value).encode()  # what SQLite's CAST(value AS BLOB) gives


def _as_text(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode()
    return value


def _unchanged(value: Any) -> Any:
    return value


# -- the target -------------------------------------------------------------------------------------
def _check_empty(engine: sa.Engine, tables: Sequence[Table]) -> None:
    with engine.connect() as conn:
        existing = set(sa.inspect(conn).get_table_names())
        _refuse_rows(conn, [t for t in tables if t.name in existing])


def _refuse_rows(conn: Connection, tables: Iterable[Table]) -> None:
    full = [t.name for t in tables if conn.execute(sa.select(sa.literal(1)).select_from(t).limit(1)).first()]
    if full:
        raise DataCopyError(
            f"the target database already holds rows (in {', '.join(full)}); migrate-data copies only "
            "into an empty database, so that no row is merged with or overwritten by another"
        )


def _lock(target: Connection, tables: Sequence[Table]) -> None:
    """Keep every other writer out of the target's tables until the copy commits (reads go on)."""
    target.exec_driver_sql(f"SET LOCAL lock_timeout = '{TARGET_LOCK_TIMEOUT}'")
    names = ", ".join(target.dialect.identifier_preparer.format_table(t) for t in tables)
    try:
        target.exec_driver_sql(f"LOCK TABLE {names} IN EXCLUSIVE MODE")
    except DBAPIError as exc:
        raise DataCopyError(f"the target's tables are in use by another session: {_reason(exc)}") from exc


def _reset_sequences(target: Connection, tables: Sequence[Table]) -> None:
    """Make each sequence behind an autoincrement key give ids above the largest one copied."""
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        name = target.dialect.identifier_preparer.format_table(table)
        quoted = target.dialect.identifier_preparer.quote(column.name)
        sequence = target.execute(
            sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": name, "column": column.name},
        ).scalar_one()
        if sequence is None:
            raise DataCopyError(f"{table.name}.{column.name} has no sequence in the target")
        target.execute(
            sa.text(f"SELECT setval(:sequence, COALESCE(MAX({quoted}), 0) + 1, false) FROM {name}"),
            {"sequence": sequence},
        )


# -- helpers ----------------------------------------------------------------------------------------
@contextmanager
def _snapshot(source: Database) -> Iterator[Connection]:
    """The SQLite source in one transaction holding its write lock: what is read is one state, and no
    write can slip in between the tables (only reads run in it; it is rolled back)."""
    conn = source.engine.connect().execution_options(wagate_begin="BEGIN IMMEDIATE")
    try:
        try:
            conn.begin()
        except DBAPIError as exc:
            raise DataCopyError(
                f"the SQLite database is busy ({_reason(exc)}): stop wagate before copying its data"
            ) from exc
        yield conn
    finally:
        conn.close()  # rolls back


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(sa.table(table.name))).scalar_one())


def _parse(url: str) -> sa.URL:
    try:
        return sa.make_url(engine_url(url))
    except ArgumentError as exc:
        raise DataCopyError(f"not a database URL: {masked_url(url)}") from exc


def _reason(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
