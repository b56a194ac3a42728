"""trigger firings by name and state: the Triggers page's and /api/triggers' counts per
trigger and state (and the conversions of fired ones) read one index instead of every row

Revision ID: 0013_trigger_count_index
Revises: 0012_product_category
Create Date: 2026-12-04 18:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_trigger_count_index"
down_revision: str | None = "0012_product_category"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_trigger_firings_name_state",
        "trigger_firings",
        ["shop_id", "name", "state", "fired_at", "customer_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_trigger_firings_name_state", table_name="trigger_firings")
