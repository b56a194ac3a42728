"""stored RFM scores: each customer's R, F and M score as the daily recompute (with
hysteresis) or a sweep (first scores) last set them, and a covering index the RFM grid
groups them by

Revision ID: 0015_rfm_scores
Revises: 0014_admin_read_indexes
Create Date: 2026-12-14 12:00:00

The columns start null: the first sweep after the upgrade scores every ranked customer
against the stored cut-offs (the unscored step), so no customer waits for the next day.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import plugin.db

revision: str = "0015_rfm_scores"
down_revision: str | None = "0014_admin_read_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCORES = ("rfm_r", "rfm_f", "rfm_m")


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        for name in SCORES:
            batch.add_column(sa.Column(name, sa.SmallInteger(), nullable=True))
        batch.add_column(
            sa.Column("rfm_scored_at", plugin.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_index(
        "ix_customers_shop_rfm_scores",
        "customers",
        ["shop_id", *SCORES, "orders_count", "total_spent_minor"],
    )


def downgrade() -> None:
    op.drop_index("ix_customers_shop_rfm_scores", table_name="customers")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("rfm_scored_at")
        for name in reversed(SCORES):
            batch.drop_column(name)
