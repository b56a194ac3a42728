"""sms consent: the customer's SMS marketing state and its source version

Revision ID: 0007_sms_consent
Revises: 0006_history_import
Create Date: 2026-12-04 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_sms_consent"
down_revision: str | None = "0006_history_import"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("sms_marketing_state", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("sms_consent_version", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("sms_consent_version")
        batch.drop_column("sms_marketing_state")
