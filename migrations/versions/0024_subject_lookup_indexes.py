"""subject lookup indexes: a customer's checkouts and guest rows found without reading the shop

Revision ID: 0024_subject_lookup_indexes
Revises: 0023_staging_without_shop_fk
Create Date: 2026-12-05 06:00:00

Linking a new customer's checkouts (by platform id) and guest orders and checkouts (by
e-mail) read every unlinked row of the shop, as did erasing a data subject's guest rows
and their firings by checkout token.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024_subject_lookup_indexes"
down_revision: str | None = "0023_staging_without_shop_fk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_orders_shop_email_cf", "orders", ["shop_id", "email_cf"]),
    ("ix_checkouts_shop_customer_platform_id", "checkouts", ["shop_id", "customer_platform_id"]),
    ("ix_checkouts_shop_email_cf", "checkouts", ["shop_id", "email_cf"]),
    ("ix_trigger_firings_checkout", "trigger_firings", ["shop_id", "checkout_token"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
