"""customer_metafields: a customer's metafields typed for the segment language
(`metafields.<namespace>.<key>`, `anniversary()`), and their staging table for the import

Revision ID: 0018_customer_metafields
Revises: 0017_city_codes
Create Date: 2026-12-16 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import plugin.db

revision: str = "0018_customer_metafields"
down_revision: str | None = "0017_city_codes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _values() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("text_cf", sa.Text(), nullable=True),
        sa.Column("number_value", sa.Float(), nullable=True),
        sa.Column("date_value", sa.Date(), nullable=True),
        sa.Column("at_value", plugin.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("bool_value", sa.Boolean(), nullable=True),
        sa.Column("month_day", sa.SmallInteger(), nullable=True),
    ]


def _shop_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["shop_id"], ["shops.id"], name=op.f(f"fk_{table}_shop_id_shops"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "customer_metafields",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        *_values(),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_metafields_customer_id_customers"),
            ondelete="CASCADE",
        ),
        _shop_fk("customer_metafields"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_metafields")),
    )
    op.create_index("ix_customer_metafields_customer", "customer_metafields", ["customer_id"])
    op.create_index(
        "ix_customer_metafields_shop_key", "customer_metafields", ["shop_id", "namespace", "key"]
    )
    op.create_table(
        "backfill_metafields",
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("customer_platform_id", sa.String(length=64), nullable=False),
        *_values(),
        _shop_fk("backfill_metafields"),
        sa.PrimaryKeyConstraint("run_id", "seq", "position", name=op.f("pk_backfill_metafields")),
    )
    op.create_index(
        "ix_backfill_metafields_run_customer",
        "backfill_metafields",
        ["run_id", "customer_platform_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_backfill_metafields_run_customer", table_name="backfill_metafields")
    op.drop_table("backfill_metafields")
    op.drop_index("ix_customer_metafields_shop_key", table_name="customer_metafields")
    op.drop_index("ix_customer_metafields_customer", table_name="customer_metafields")
    op.drop_table("customer_metafields")
