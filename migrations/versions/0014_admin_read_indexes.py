"""indexes the admin's whole-shop reads need: customers' order metrics as a covering index
(the dashboard's shop totals, the RFM grid, the prospects count and the RFM cut-offs read
it instead of every wide customer row); stays by entry time (RFM movement, conversions)

Revision ID: 0014_admin_read_indexes
Revises: 0013_trigger_count_index
Create Date: 2026-12-04 18:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_admin_read_indexes"
down_revision: str | None = "0013_trigger_count_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_customers_shop_order_metrics",
        "customers",
        ["shop_id", "orders_count", "total_spent_minor", "last_order_at"],
    )
    op.create_index(
        "ix_segment_memberships_entered",
        "segment_memberships",
        ["shop_id", "segment_id", "entered_at", "entered_reason", "customer_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_segment_memberships_entered", table_name="segment_memberships")
    op.drop_index("ix_customers_shop_order_metrics", table_name="customers")
