"""trigger firings by state: the Activity page's and `shopseg activity --skipped`'s latest
decisions that sent nothing read an index instead of sorting every firing of the shop

Revision ID: 0009_trigger_firing_state_index
Revises: 0008_segment_push_tag
Create Date: 2026-12-04 16:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_trigger_firing_state_index"
down_revision: str | None = "0008_segment_push_tag"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_trigger_firings_state",
        "trigger_firings",
        ["shop_id", "state", "updated_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_trigger_firings_state", table_name="trigger_firings")
