"""Template lifecycle: quality score, pauses, pending deletion, approved edits, creation times

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("quality_score", sa.String(length=10), server_default="UNKNOWN", nullable=False)
        )
        batch_op.add_column(sa.Column("pause_count", sa.SmallInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("paused_until", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("approved_edits", sa.Text(), server_default="[]", nullable=False))
    op.create_table(
        "template_creations",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("waba_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_template_creations_waba", "template_creations", ["waba_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_template_creations_waba", table_name="template_creations")
    op.drop_table("template_creations")
    with op.batch_alter_table("templates", schema=None) as batch_op:
        batch_op.drop_column("approved_edits")
        batch_op.drop_column("deleted_at")
        batch_op.drop_column("paused_until")
        batch_op.drop_column("pause_count")
        batch_op.drop_column("quality_score")
