"""The migrations build exactly the schema the code declares (`store/schema.py`), on every database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests import databases
from wagate.store.db import Database
from wagate.store.migrate import upgrade
from wagate.store.schema import metadata


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind; PostgreSQL's is skipped when its test server is unreachable."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'wagate.db'}"
        return
    url = databases.create_database()
    try:
        yield url
    finally:
        databases.drop_database(url)


def test_migrations_match_the_declared_schema(database_url: str) -> None:
    db = Database(database_url)
    upgrade(db)
    try:
        with db.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        db.stop()
    assert differences == []
