"""segment push_tag: whether a segment's membership becomes a tag at the shop

Revision ID: 0008_segment_push_tag
Revises: 0007_sms_consent
Create Date: 2026-12-04 15:30:00

Existing segments keep pushing (true): an upgrade must not strip tags merchants already
use. New built-ins start off, the merchant's own segments on (plugin/segments/services.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_segment_push_tag"
down_revision: str | None = "0007_sms_consent"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("segments") as batch:
        batch.add_column(
            sa.Column("push_tag", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("segments") as batch:
        batch.drop_column("push_tag")
