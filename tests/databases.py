"""The database each test runs on.

By default a test's wagate keeps SQLite under its home folder, as a user's does. With
`WAGATE_TEST_DATABASE=postgresql` every home folder gets a throwaway PostgreSQL database instead,
`wagate_test_<random>`, created on the server at `WAGATE_TEST_POSTGRESQL_URL` on first use and dropped
when the test ends. If that server cannot be reached, the test is skipped and says why. There, a
wagate also paces through the Redis at `WAGATE_TEST_REDIS_URL` (keys under its database's name, deleted
with it) when Redis answers, as a scale-out deployment does.
"""

from __future__ import annotations

import functools
import os
import secrets
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from wagate.crypto.keys import KeyRing, load_key_ring
from wagate.store.db import engine_url

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CONNECT_TIMEOUT = 3

# Processes sharing a PostgreSQL database need the same encryption key (SQLite makes its own).
ENCRYPTION_KEYS = "test:dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcy1vayE="

# The databases made during the current test, by home folder.
_created: dict[Path, str] = {}


def mode() -> str:
    """`sqlite` or `postgresql`: what the suite runs on."""
    chosen = os.environ.get("WAGATE_TEST_DATABASE", "").strip().lower() or "sqlite"
    if chosen not in ("sqlite", "postgresql"):
        raise pytest.UsageError(f"WAGATE_TEST_DATABASE must be sqlite or postgresql, not {chosen!r}")
    return chosen


def on_postgresql() -> bool:
    return mode() == "postgresql"


def server_url() -> str:
    """A database on the PostgreSQL server tests may create databases on (the maintenance one)."""
    return os.environ.get("WAGATE_TEST_POSTGRESQL_URL", DEFAULT_SERVER_URL)


DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_url() -> str:
    return os.environ.get("WAGATE_TEST_REDIS_URL", DEFAULT_REDIS_URL)


@functools.cache
def redis_unreachable() -> str | None:
    """Why the Redis test server cannot be used, or None when it can (asked once per run)."""
    client = redis.Redis.from_url(redis_url(), socket_timeout=CONNECT_TIMEOUT)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"Redis at {redis_url()} is unreachable: {exc}"
    finally:
        client.close()
    return None


def redis_settings(home: Path) -> dict[str, str]:
    """On PostgreSQL, a wagate also shares its pacing through Redis when Redis answers, under a prefix
    of its own (its database's name), as a scale-out deployment does; on SQLite, nothing."""
    if not on_postgresql() or redis_unreachable() is not None:
        return {}
    name = sa.make_url(database_url(home)).database
    assert name is not None
    return {"redis_url": redis_url(), "redis_prefix": name}


def key_ring(home: Path) -> KeyRing:
    """The encryption keys a wagate with this home folder uses in the current test (on SQLite, those of
    its keys file, created here if the wagate has not run yet)."""
    ring, _ = load_key_ring(ENCRYPTION_KEYS if on_postgresql() else "", home, not on_postgresql())
    return ring


def database_url(home: Path) -> str:
    """The database a wagate with this home folder uses in the current test."""
    if not on_postgresql():
        return f"sqlite:///{home / 'wagate.db'}"
    home = home.resolve()
    if home not in _created:
        _created[home] = create_database()
    return _created[home]


@functools.cache
def postgresql_unreachable() -> str | None:
    """Why the PostgreSQL test server cannot be used, or None when it can (asked once per run)."""
    engine = _server_engine()
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as exc:
        return f"PostgreSQL at {_redacted(server_url())} is unreachable: {exc.orig}"
    finally:
        engine.dispose()
    return None


def create_database() -> str:
    """A new, empty database on the test server; its URL. Skips the test if the server is unreachable."""
    reason = postgresql_unreachable()
    if reason is not None:
        pytest.skip(reason)
    name = f"wagate_test_{secrets.token_hex(6)}"
    _on_server(f'CREATE DATABASE "{name}"')
    return str(sa.make_url(server_url()).set(database=name).render_as_string(hide_password=False))


def drop_database(url: str) -> None:
    """Drop a database made by `create_database`, closing what still uses it (a killed server's)."""
    name = sa.make_url(url).database
    assert name is not None and name.startswith("wagate_test_"), name
    _on_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _on_server(statement: str) -> None:
    engine = _server_engine()
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def drop_created() -> None:
    """Drop every database made during the current test."""
    urls = list(_created.values())
    _created.clear()
    for url in urls:
        drop_database(url)
        _forget_redis_keys(str(sa.make_url(url).database))


def _forget_redis_keys(prefix: str) -> None:
    if redis_unreachable() is not None:
        return
    client = redis.Redis.from_url(redis_url(), socket_timeout=CONNECT_TIMEOUT)
    try:
        keys = list(client.scan_iter(match=f"{{{prefix}:*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def scalar(home: Path, sql: str) -> int:
    """One number from the database of the wagate with this home folder (`SELECT COUNT(*) ...`)."""
    engine = sa.create_engine(engine_url(database_url(home)))
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql(sql).scalar_one())
    finally:
        engine.dispose()


def _server_engine() -> sa.Engine:
    # CREATE and DROP DATABASE cannot run inside a transaction.
    return sa.create_engine(
        engine_url(server_url()),
        isolation_level="AUTOCOMMIT",
        poolclass=sa.NullPool,
        connect_args={"connect_timeout": CONNECT_TIMEOUT},
    )


def _redacted(url: str) -> str:
    return str(sa.make_url(url).render_as_string(hide_password=True))
