"""oauth_states: client key and indexes for the caps on pending states and their purge

Revision ID: 0005_oauth_state_bounds
Revises: 0004
Create Date: 2026-12-04 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_oauth_state_bounds"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_key", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_oauth_states_shop_domain_created_at", ["shop_domain", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_oauth_states_client_key_created_at", ["client_key", "created_at"], unique=False
        )
        batch_op.create_index("ix_oauth_states_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oauth_states", schema=None) as batch_op:
        batch_op.drop_index("ix_oauth_states_created_at")
        batch_op.drop_index("ix_oauth_states_client_key_created_at")
        batch_op.drop_index("ix_oauth_states_shop_domain_created_at")
        batch_op.drop_column("client_key")
