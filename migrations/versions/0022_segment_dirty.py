"""segment dirty: customers the next incremental sweep must re-evaluate (evaluated in real
time, or changed outside the event path, since the last sweep)

Revision ID: 0022_segment_dirty
Revises: 0021_segment_state_words
Create Date: 2026-12-05 03:00:00

Starts empty: the first sweep after the upgrade is a full one (no sweep clock is known
to be exact for incremental work until a sweep has run on this revision).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_segment_dirty"
down_revision: str | None = "0021_segment_state_words"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "segment_dirty",
        sa.Column(
            "shop_id",
            sa.BigInteger(),
            sa.ForeignKey("shops.id", ondelete="CASCADE", name="fk_segment_dirty_shop_id_shops"),
            nullable=False,
        ),
        sa.Column(
            "customer_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "customers.id", ondelete="CASCADE", name="fk_segment_dirty_customer_id_customers"
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("shop_id", "customer_id", name="pk_segment_dirty"),
    )


def downgrade() -> None:
    op.drop_table("segment_dirty")
