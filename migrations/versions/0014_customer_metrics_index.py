"""customers' order metrics as a covering index: the dashboard's shop totals, the RFM
grid, the prospects count and the RFM cut-offs read it instead of every wide customer row

Revision ID: 0014_customer_metrics_index
Revises: 0010_predictions
Create Date: 2026-12-04 18:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_customer_metrics_index"
down_revision: str | None = "0010_predictions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_customers_shop_order_metrics",
        "customers",
        ["shop_id", "orders_count", "total_spent_minor", "last_order_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_customers_shop_order_metrics", table_name="customers")
