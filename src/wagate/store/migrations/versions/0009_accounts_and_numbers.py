"""Business accounts' credentials, numbers' registration, profile and display name

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("business_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("app_secret", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("meta_app_id", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("subscribed_at", sa.Float(), nullable=True))
    with op.batch_alter_table("phone_numbers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("messaging_tier", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("quality_rating", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("name_status", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("code_verification_status", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("registered_at", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("platform_type", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("phone_numbers", schema=None) as batch_op:
        batch_op.drop_column("platform_type")
        batch_op.drop_column("registered_at")
        batch_op.drop_column("code_verification_status")
        batch_op.drop_column("name_status")
        batch_op.drop_column("quality_rating")
        batch_op.drop_column("messaging_tier")
    with op.batch_alter_table("business_accounts", schema=None) as batch_op:
        batch_op.drop_column("subscribed_at")
        batch_op.drop_column("meta_app_id")
        batch_op.drop_column("app_secret")
