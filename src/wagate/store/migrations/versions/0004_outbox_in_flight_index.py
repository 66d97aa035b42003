"""The rows of the outbox in flight, indexed for recovering those whose lease ran out

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_in_flight",
        "outbox",
        ["lease_until"],
        sqlite_where=sa.text("in_flight_since IS NOT NULL"),
        postgresql_where=sa.text("in_flight_since IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_in_flight", table_name="outbox")
