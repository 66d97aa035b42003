"""Schema migrations with Alembic, run in process (`wagate migrate`, and at start-up of `serve`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from wagate.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


# Processes starting together on PostgreSQL take turns: the first upgrades, the others find it done.
_UPGRADE_LOCK = text("SELECT pg_advisory_xact_lock(7301000)")


def upgrade(db: Database, revision: str = "head") -> None:
    config = _config()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(_UPGRADE_LOCK)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def autogenerate(db: Database, message: str) -> None:
    """Write a new revision from the difference between the schema and the database (developers)."""
    config = _config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.revision(config, message=message, autogenerate=True)
