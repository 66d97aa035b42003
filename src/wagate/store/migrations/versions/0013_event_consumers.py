"""Event consumers: a cursor per consumer of the event stream instead of one fanned-out flag per event

Revision ID: 0013
Revises: 0012
"""

import time
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_consumers",
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("claimed_by", sa.String(40), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "event_retries",
        sa.Column("consumer", sa.String(80), primary_key=True),
        sa.Column("event_id", sa.BigInteger(), primary_key=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_event_retries_due", "event_retries", ["consumer", "next_attempt_at"])
    # The webhook fan-out goes on where the flag left it: before the first event not fanned out yet,
    # else after the last one, so no event is fanned out twice or skipped.
    conn = op.get_bind()
    first_left = conn.execute(sa.text("SELECT MIN(id) FROM events WHERE fanned_out = 0")).scalar()
    last = conn.execute(sa.text("SELECT MAX(id) FROM events")).scalar()
    # (A new database has no events: the consumer starts from the first one when it first runs.)
    if last is not None:
        position = int(first_left) - 1 if first_left is not None else int(last)
        conn.execute(
            sa.text("INSERT INTO event_consumers (name, position, updated_at) VALUES ('webhooks', :p, :at)"),
            {"p": position, "at": time.time()},
        )
        # Keyword confirmations, sent by a consumer from now on, were sent in the ingest commit before:
        # the consumer starts after the last event, so no customer is confirmed twice.
        conn.execute(
            sa.text(
                "INSERT INTO event_consumers (name, position, updated_at) VALUES ('consent_replies', :p, :at)"
            ),
            {"p": int(last), "at": time.time()},
        )
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_fan_out")
        batch.drop_column("fanned_out")


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("fanned_out", sa.SmallInteger(), server_default="0", nullable=False))
        batch.create_index("ix_events_fan_out", ["fanned_out", "id"], unique=False)
    conn = op.get_bind()
    position = conn.execute(sa.text("SELECT position FROM event_consumers WHERE name = 'webhooks'")).scalar()
    conn.execute(sa.text("UPDATE events SET fanned_out = 1 WHERE id <= :p"), {"p": int(position or 0)})
    op.drop_index("ix_event_retries_due", table_name="event_retries")
    op.drop_table("event_retries")
    op.drop_table("event_consumers")
