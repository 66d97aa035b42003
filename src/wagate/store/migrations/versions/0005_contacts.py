"""Contacts' attributes, tags and casefolded search text, and the record of erasures

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attributes", sa.Text(), server_default="{}", nullable=False))
        batch_op.add_column(sa.Column("tags", sa.Text(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=True))
    op.create_table(
        "erasures",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("wa_id", sa.String(length=32), nullable=False),
        sa.Column("erased_at", sa.Float(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("erasures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erasures_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("erasures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasures_org_id"))
    op.drop_table("erasures")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("search_text")
        batch_op.drop_column("tags")
        batch_op.drop_column("attributes")
