"""The writer: concurrent jobs share commits, results arrive after the commit, one bad job fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import IntegrityError

from tests import databases
from wagate.store.db import Database, Job
from wagate.store.migrate import upgrade
from wagate.store.schema import organizations


@dataclass
class AddOrganization(Job[int]):
    slug: str

    def run(self, conn: Connection) -> int:
        return int(
            conn.execute(
                insert(organizations)
                .values(name=self.slug, slug=self.slug, created_at=0.0)
                .returning(organizations.c.id)
            ).scalar_one()
        )


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(databases.database_url(tmp_path))
    upgrade(database)
    database.start()
    yield database
    database.stop()


def count(db: Database) -> int:
    return int(db.read_now(lambda c: c.execute(select(func.count()).select_from(organizations)).scalar_one()))


async def test_concurrent_writes_share_commits(db: Database) -> None:
    ids = await asyncio.gather(*(db.write(AddOrganization(f"org{i}")) for i in range(500)))
    assert len(set(ids)) == 500
    assert count(db) == 500
    assert db.commits < 500


async def test_a_failing_job_fails_alone(db: Database) -> None:
    await db.write(AddOrganization("taken"))
    results = await asyncio.gather(
        *(db.write(AddOrganization(f"ok{i}")) for i in range(20)),
        db.write(AddOrganization("taken")),
        return_exceptions=True,
    )
    assert sum(isinstance(r, int) for r in results) == 20
    assert isinstance(results[-1], IntegrityError)
    assert count(db) == 21


def test_sqlite_runs_in_wal_with_full_sync(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite only")

    def pragmas(conn: Connection) -> tuple[str, int]:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
        sync = conn.exec_driver_sql("PRAGMA synchronous").scalar_one()
        return str(mode), int(sync)

    assert db.read_now(pragmas) == ("wal", 2)
