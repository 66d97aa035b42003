"""The migrations build exactly the schema the code declares (`store/schema.py`)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from wagate.store.db import Database
from wagate.store.migrate import upgrade
from wagate.store.schema import metadata


def test_migrations_match_the_declared_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wagate.db'}"
    db = Database(url)
    upgrade(db)
    db.stop()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert differences == []
