"""Search over message text: a blind index of each message's words

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL for messages written before: `wagate keys rotate` indexes them as it re-seals them.
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("search_index", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("search_index")
