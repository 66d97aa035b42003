"""The consent ledger, per-organization policy settings and quality, tier reservations, marketing sends

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", _ROW_ID, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("wa_id", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("proof", sa.Text(), nullable=True),
        sa.Column("message_wamid", sa.String(length=80), nullable=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("recorded_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consents_contact", "consents", ["org_id", "wa_id", "purpose", "at"])
    op.create_table(
        "org_policies",
        sa.Column("org_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("settings", sa.Text(), server_default="{}", nullable=False),
        sa.Column("quality_rating", sa.String(length=10), server_default="GREEN", nullable=False),
        sa.Column("quality_updated_at", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("org_id"),
    )
    op.create_table(
        "tier_reservations",
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("wa_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_index("ix_tier_reservations_org", "tier_reservations", ["org_id", "at", "wa_id"])
    op.create_table(
        "marketing_sends",
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("wa_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_index("ix_marketing_sends_contact", "marketing_sends", ["org_id", "wa_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_marketing_sends_contact", table_name="marketing_sends")
    op.drop_table("marketing_sends")
    op.drop_index("ix_tier_reservations_org", table_name="tier_reservations")
    op.drop_table("tier_reservations")
    op.drop_table("org_policies")
    op.drop_index("ix_consents_contact", table_name="consents")
    op.drop_table("consents")
