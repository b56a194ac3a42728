"""staged SMS consent: the history import reads each customer's SMS marketing state and
stages it with its source version, as the customers_marketing_consent/update webhook
writes it

Revision ID: 0016_staged_sms_consent
Revises: 0015_rfm_scores
Create Date: 2026-12-16 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_staged_sms_consent"
down_revision: str | None = "0015_rfm_scores"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("backfill_customers") as batch:
        batch.add_column(sa.Column("sms_marketing_state", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("sms_consent_version", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("backfill_customers") as batch:
        batch.drop_column("sms_consent_version")
        batch.drop_column("sms_marketing_state")
