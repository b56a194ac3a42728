"""staging without shop fk: the history import's staged rows no longer reference shops

Revision ID: 0023_staging_without_shop_fk
Revises: 0022_segment_dirty
Create Date: 2026-12-05 04:00:00

SQLite empties a table whole (its truncate optimization) only if no foreign key involves
it, and PostgreSQL checked the key for each of millions of staged rows. The shop
redaction deletes staged rows by shop_id, as it does every table's.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023_staging_without_shop_fk"
down_revision: str | None = "0022_segment_dirty"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAGING = (
    "backfill_customers",
    "backfill_addresses",
    "backfill_metafields",
    "backfill_companies",
    "backfill_store_credit",
    "backfill_tags",
    "backfill_products",
    "backfill_orders",
    "backfill_order_lines",
)


def upgrade() -> None:
    for table in STAGING:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_shop_id_shops", type_="foreignkey")


def downgrade() -> None:
    for table in STAGING:
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(
                f"fk_{table}_shop_id_shops", "shops", ["shop_id"], ["id"], ondelete="CASCADE"
            )
