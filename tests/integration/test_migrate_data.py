"""`wagate migrate-data`: a SQLite deployment moves to PostgreSQL, as an operator does it.

These tests are about SQLite to PostgreSQL whatever database the suite runs on: the source wagate is
told `WAGATE_DATABASE_URL=` (SQLite under its home), the target is a throwaway PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests import databases
from tests.helpers import Server, bootstrap, eventually, run_cli, wagate_env
from tests.receiver import Receiver
from wagate.store.data_copy import DataCopyError, copy_tables, do_copy_data
from wagate.store.db import engine_url
from wagate.store.schema import metadata

# The source wagate runs on SQLite even when the suite runs on PostgreSQL; receipts come quickly.
ON_SQLITE = {
    "WAGATE_DATABASE_URL": "",
    "WAGATE_ALLOW_PRIVATE_TARGETS": "1",
    "WAGATE_SIMULATOR_SENT_DELAY": "0.02",
    "WAGATE_SIMULATOR_DELIVERED_DELAY": "0.05",
    "WAGATE_SIMULATOR_READ_DELAY": "3600",
}
HELLO_WORLD = {"type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}


@pytest.fixture
def target_url() -> Iterator[str]:
    """An empty PostgreSQL database (the test is skipped, saying why, when the server is unreachable)."""
    url = databases.create_database()
    try:
        yield url
    finally:
        databases.drop_database(url)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    endpoint = await Receiver().start()
    yield endpoint
    await endpoint.stop()


def row_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(engine_url(url), poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            return {
                t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for t in metadata.sorted_tables
            }
    finally:
        engine.dispose()


def migrate_data(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wagate", "migrate-data", *args],
        env=wagate_env(home, **ON_SQLITE),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def send_hello(client: httpx.AsyncClient, phone_number_id: str, to: str) -> str:
    response = await client.post(
        f"/v23.0/{phone_number_id}/messages", json={"messaging_product": "whatsapp", "to": to, **HELLO_WORLD}
    )
    assert response.status_code == 200, response.text
    wamid: str = response.json()["messages"][0]["id"]
    return wamid


async def delivered(client: httpx.AsyncClient, wamid: str) -> dict[str, object]:
    async def check() -> dict[str, object] | None:
        response = await client.get(f"/api/v1/messages/{wamid}")
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body if body["status"] == "delivered" else None

    found: dict[str, object] = await eventually(check, within=20.0, interval=0.1)
    return found


async def test_a_sqlite_deployment_moves_to_postgresql(
    tmp_path: Path, target_url: str, receiver: Receiver
) -> None:
    home = tmp_path / "home"
    ids = await asyncio.to_thread(bootstrap, home, **ON_SQLITE)
    auth = {"Authorization": f"Bearer {ids['token']}"}
    number = ids["phone_number_id"]

    on_sqlite = Server(home, **ON_SQLITE)
    await asyncio.to_thread(on_sqlite.start)
    try:
        async with httpx.AsyncClient(base_url=on_sqlite.url, headers=auth, timeout=10.0) as client:
            subscribed = await client.post(
                "/api/v1/webhooks/subscriptions", json={"url": receiver.url("/hooks")}
            )
            assert subscribed.status_code == 201, subscribed.text
            wrote = await client.post(
                "/api/v1/simulator/messages",
                json={"phone_number_id": number, "from": "16505550100", "text": "Hi", "name": "Ann"},
            )
            assert wrote.status_code == 201, wrote.text
            wamids = [await send_hello(client, number, f"+1650555123{i}") for i in range(3)]
            before = [await delivered(client, wamid) for wamid in wamids]

            async def posted() -> bool:
                return bool(receiver.posts("/hooks"))

            await eventually(posted, within=20.0, interval=0.1)
    finally:
        assert await asyncio.to_thread(on_sqlite.terminate) == 0
    source_url = f"sqlite:///{home / 'wagate.db'}"

    result = await asyncio.to_thread(migrate_data, home, "--to", target_url)

    assert result.returncode == 0, result.stdout + result.stderr
    counts = row_counts(source_url)
    assert row_counts(target_url) == counts
    for table in ("messages", "message_statuses", "inbound_events", "events", "webhook_subscriptions"):
        assert counts[table] > 0, table
    for table in counts:
        assert table in result.stdout
    assert f"copied {sum(counts.values())} rows in {len(counts)} tables into postgresql://" in result.stdout

    on_postgresql = Server(home, **{**ON_SQLITE, "WAGATE_DATABASE_URL": target_url})
    await asyncio.to_thread(on_postgresql.start)
    try:
        async with httpx.AsyncClient(base_url=on_postgresql.url, headers=auth, timeout=10.0) as client:
            moved = (await client.get(f"/api/v1/messages/{wamids[0]}")).json()
            assert moved["status"] == "delivered"
            assert moved["history"] == before[0]["history"]
            assert [h["status"] for h in moved["history"]][-2:] == ["sent", "delivered"]
            # New rows take ids after the copied ones: the message and its statuses are recorded.
            after = await delivered(client, await send_hello(client, number, "+16505551239"))
            assert [h["status"] for h in after["history"]][-2:] == ["sent", "delivered"]  # type: ignore[index]
    finally:
        assert await asyncio.to_thread(on_postgresql.terminate) == 0
    assert row_counts(target_url)["messages"] == counts["messages"] + 1


def test_a_target_holding_data_is_refused_and_left_unchanged(tmp_path: Path, target_url: str) -> None:
    home = tmp_path / "home"
    bootstrap(home, **ON_SQLITE)
    run_cli(tmp_path / "other", "bootstrap", "--json", WAGATE_DATABASE_URL=target_url)
    counts = row_counts(target_url)

    result = migrate_data(home, "--to", target_url)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "already holds rows" in result.stderr and "organizations" in result.stderr
    assert row_counts(target_url) == counts


def test_only_sqlite_into_postgresql(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bootstrap(home, **ON_SQLITE)

    into_sqlite = migrate_data(home, "--to", f"sqlite:///{tmp_path / 'copy.db'}")
    from_postgresql = migrate_data(
        home, "--from", "postgresql://wagate:secret@127.0.0.1/wagate", "--to", "postgresql://127.0.0.1/x"
    )
    nowhere = migrate_data(home)

    assert into_sqlite.returncode == 1 and "target must be a PostgreSQL database" in into_sqlite.stderr
    assert from_postgresql.returncode == 1 and "source must be a SQLite database" in from_postgresql.stderr
    assert "secret" not in from_postgresql.stdout + from_postgresql.stderr
    assert nowhere.returncode == 1 and "--to or WAGATE_DATABASE_URL" in nowhere.stderr
    assert not (tmp_path / "copy.db").exists()


def test_a_missing_sqlite_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataCopyError, match="no SQLite database"):
        do_copy_data(f"sqlite:///{tmp_path / 'absent.db'}", "postgresql://127.0.0.1/x")
    assert not (tmp_path / "absent.db").exists()


# -- the copy itself, on a small schema of its own ---------------------------------------------------
def test_loosely_typed_sqlite_values_and_self_references_arrive(tmp_path: Path, target_url: str) -> None:
    schema = sa.MetaData()
    nodes = sa.Table(
        "nodes",
        schema,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("parent_id", sa.ForeignKey("nodes.id")),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("name", sa.String(20), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("active", sa.SmallInteger, nullable=False),
    )
    source = sa.create_engine(f"sqlite:///{tmp_path / 'small.db'}", poolclass=sa.NullPool)
    target = sa.create_engine(engine_url(target_url), poolclass=sa.NullPool)
    try:
        schema.create_all(source)
        schema.create_all(target)
        with source.begin() as conn:
            # A parent with a larger id than its child; text in a BLOB column; a BLOB in a TEXT one; an
            # integer time; a boolean written as 0/1.
            conn.exec_driver_sql(
                "INSERT INTO nodes VALUES (1, 7, 'as text', x'41', 1700000000, 1),"
                " (7, NULL, x'00ff', 'root', 1700000000.25, 0)"
            )
            conn.exec_driver_sql(
                "INSERT INTO nodes (parent_id, body, name, at, active) "
                "SELECT 1, x'01', 'n' || value, 1.5, 1 FROM json_each('[1,2,3,4,5]')"
            )
        with source.connect() as src, target.connect() as dst, dst.begin():
            copied = copy_tables(src, dst, schema.sorted_tables, batch_rows=2)

        assert [(c.name, c.rows) for c in copied] == [("nodes", 7)]
        with target.begin() as conn:
            rows = {r.id: r for r in conn.execute(sa.select(nodes))}
            new_id = conn.execute(
                nodes.insert().values(body=b"", name="new", at=0.0, active=1).returning(nodes.c.id)
            ).scalar_one()
        assert rows[1].parent_id == 7 and rows[1].body == b"as text" and rows[1].name == "A"
        assert rows[7].body == b"\x00\xff" and rows[7].at == 1700000000.25
        assert rows[1].at == 1700000000.0 and rows[1].active == 1 and rows[7].active == 0
        assert sorted(rows) == [1, 7, 8, 9, 10, 11, 12]
        assert new_id == 13

        # Once the target holds rows, a second copy is refused.
        with (
            source.connect() as src,
            target.connect() as dst,
            dst.begin(),
            pytest.raises(DataCopyError, match="already holds rows"),
        ):
            copy_tables(src, dst, schema.sorted_tables)
    finally:
        source.dispose()
        target.dispose()


def test_a_value_postgresql_refuses_fails_the_whole_copy(tmp_path: Path, target_url: str) -> None:
    schema = sa.MetaData()
    parents = sa.Table("parents", schema, sa.Column("id", sa.Integer, primary_key=True))
    children = sa.Table(
        "children",
        schema,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("parent_id", sa.ForeignKey("parents.id"), nullable=False),
        sa.Column("code", sa.String(2), nullable=False),
    )
    source = sa.create_engine(f"sqlite:///{tmp_path / 'small.db'}", poolclass=sa.NullPool)
    target = sa.create_engine(engine_url(target_url), poolclass=sa.NullPool)
    try:
        schema.create_all(source)
        schema.create_all(target)
        with source.begin() as conn:
            conn.execute(parents.insert(), [{"id": 1}, {"id": 2}])
            # SQLite does not enforce a VARCHAR's length; PostgreSQL does.
            conn.execute(children.insert(), [{"id": 1, "parent_id": 1, "code": "much too long"}])

        with (
            source.connect() as src,
            target.connect() as dst,
            pytest.raises(DataCopyError, match="children: value too long"),
            dst.begin(),
        ):
            copy_tables(src, dst, schema.sorted_tables)

        with target.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(parents)).scalar_one() == 0
    finally:
        source.dispose()
        target.dispose()
