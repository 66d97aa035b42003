"""Small helpers for statements: the one place SQLite and PostgreSQL spell things differently, and
statements built once.

Statements on the hot paths are built once at import (with expanding `IN` parameters) and reused:
building a SQLAlchemy statement, and coercing each value of a literal `IN` list, costs more than
running it. Note also that `(a, b) IN (VALUES ...)` makes SQLite scan the table, while
`a IN (...) AND b IN (...)` searches a two-column index; callers of the latter check the pairs they get.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import BindParameter, Connection, Table, bindparam, text
from sqlalchemy.dialects import postgresql, sqlite


def many(name: str) -> BindParameter[Any]:
    """An expanding parameter: `column.in_(many("ids"))`, executed with `{"ids": [...]}`."""
    return bindparam(name, expanding=True)


def insert_ignore(conn: Connection, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the connection's dialect."""
    return _insert_ignore(conn.dialect.name, table)


def upsert(conn: Connection, table: Table, keys: list[str], update: list[str]) -> Any:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET each of `update` to the new row's value."""
    return _upsert(conn.dialect.name, table, tuple(keys), tuple(update))


def _insert(dialect: str, table: Table) -> Any:
    # Callers want the rowcount (was the row kept?), never the new row's key: no implicit RETURNING,
    # and the rowcount kept, which SQLAlchemy otherwise leaves unknown (-1) for an INSERT on psycopg.
    stmt = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return stmt.inline().execution_options(preserve_rowcount=True)


@functools.cache
def _insert_ignore(dialect: str, table: Table) -> Any:
    return _insert(dialect, table).on_conflict_do_nothing()


@functools.cache
def _upsert(dialect: str, table: Table, keys: tuple[str, ...], update: tuple[str, ...]) -> Any:
    stmt: Any = _insert(dialect, table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys), set_={name: getattr(stmt.excluded, name) for name in update}
    )


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows that all have the same keys.

    On SQLite a plain `INSERT ... VALUES (?, ...)` goes straight to the driver's executemany: SQLAlchemy's
    per-row parameter processing costs more than SQLite's own work on the hot paths (the accept path,
    the ingest path). Elsewhere, the Core statement.
    """
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), rows)
        return
    columns = tuple(rows[0])
    conn.exec_driver_sql(
        _sqlite_insert(table.name, columns), [tuple(row[c] for c in columns) for row in rows]
    )


@functools.cache
def _sqlite_insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def rows_in(
    conn: Connection, statement: Any, params: dict[str, Any], raw: str, head: tuple[Any, ...], values: str
) -> list[tuple[Any, ...]]:
    """The rows, as tuples, of a SELECT on a hot path with one expanding `IN` list, `params[values]`.

    On SQLite `raw` runs on the driver directly, with `?` for the `head` parameters and `{in}` where the
    list goes: per statement, SQLAlchemy's expanding of the list and its row objects cost more than
    SQLite's own search. Elsewhere the Core `statement` with `params`.
    """
    items = params[values]
    if not items:
        return []
    if conn.dialect.name != "sqlite":
        return [tuple(row) for row in conn.execute(statement, params)]
    sql = raw.replace("{in}", ",".join("?" * len(items)))
    return list(conn.exec_driver_sql(sql, (*head, *items)).fetchall())


# Keys of the transaction-scoped advisory locks that keep a periodic job to one worker at a time.
_SINGLETON_KEYS = {"quality": 7_301_001, "retention": 7_301_002}


def first_to_run(conn: Connection, job: str) -> bool:
    """Whether this transaction may run `job` now: on PostgreSQL, False while another worker's
    transaction runs it (it ends with that transaction); on SQLite, always (one writer)."""
    if conn.dialect.name != "postgresql":
        return True
    return bool(
        conn.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _SINGLETON_KEYS[job]}).scalar()
    )
