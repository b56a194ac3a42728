"""orders: net value after unlisted refunds, and whether any discount applied

Revision ID: 0002_order_net_value
Revises: 0001
Create Date: 2026-11-23 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_order_net_value"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows: net = total (no refund known yet), no discount known; both are
    # rewritten the next time the order is delivered.
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("net_total_minor", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("has_discount", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute("UPDATE orders SET net_total_minor = total_minor")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.alter_column("net_total_minor", server_default=None)
        batch_op.alter_column("has_discount", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("has_discount")
        batch_op.drop_column("net_total_minor")
