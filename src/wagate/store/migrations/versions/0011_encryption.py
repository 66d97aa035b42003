"""Encryption at rest: the keys in use, rotation progress

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rotation progress needs no table: the values still under an old key are found by their prefix.
    op.create_table(
        "key_checks",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    with op.batch_alter_table("contacts") as batch:
        # A sealed name is longer than the name.
        batch.alter_column("profile_name", type_=sa.Text(), existing_type=sa.String(200))
        batch.add_column(sa.Column("name_index", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("name_index")
        batch.alter_column("profile_name", type_=sa.String(200), existing_type=sa.Text())
    op.drop_table("key_checks")
