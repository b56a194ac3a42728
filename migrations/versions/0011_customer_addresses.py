"""customer_addresses: every address of a customer (and its staging table for the import)

The default address each customer already has becomes their first row, so the location
filters read one table from the start; the next customers/update or import fills the rest.

Revision ID: 0011_customer_addresses
Revises: 0010_predictions
Create Date: 2026-12-14 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from plugin.profiles.addresses import city_key, region_key

revision: str = "0011_customer_addresses"
down_revision: str | None = "0010_predictions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    op.create_table(
        "customer_addresses",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=True),
        sa.Column("province_code", sa.String(length=16), nullable=True),
        sa.Column("city", sa.String(length=255), nullable=True),
        sa.Column("region_key", sa.String(length=24), nullable=True),
        sa.Column("city_key", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_addresses_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_customer_addresses_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_addresses")),
    )
    with op.batch_alter_table("customer_addresses", schema=None) as batch_op:
        batch_op.create_index("ix_customer_addresses_customer", ["customer_id"], unique=False)
        batch_op.create_index(
            "ix_customer_addresses_shop_country", ["shop_id", "country_code"], unique=False
        )
        batch_op.create_index(
            "ix_customer_addresses_shop_region", ["shop_id", "region_key"], unique=False
        )
        batch_op.create_index(
            "ix_customer_addresses_shop_city", ["shop_id", "city_key"], unique=False
        )

    op.create_table(
        "backfill_addresses",
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("customer_platform_id", sa.String(length=64), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=True),
        sa.Column("province_code", sa.String(length=16), nullable=True),
        sa.Column("city", sa.String(length=255), nullable=True),
        sa.Column("region_key", sa.String(length=24), nullable=True),
        sa.Column("city_key", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_backfill_addresses_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "seq", name=op.f("pk_backfill_addresses")),
    )
    with op.batch_alter_table("backfill_addresses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_backfill_addresses_run_customer", ["run_id", "customer_platform_id"], unique=False
        )
    _copy_default_addresses()


def _copy_default_addresses() -> None:
    """Each stored default address as the customer's first row. The keys casefold in
    Python (SQLite's lower() folds ASCII only), so rows pass through here in batches."""
    bind = op.get_bind()
    customers = sa.table(
        "customers",
        *(sa.column(c) for c in ("id", "shop_id", "country_code", "province_code", "city")),
    )
    addresses = sa.table(
        "customer_addresses",
        *(sa.column(c) for c in ("shop_id", "customer_id", "country_code", "province_code")),
        *(sa.column(c) for c in ("city", "region_key", "city_key")),
    )
    found = bind.execute(
        sa.select(customers)
        .execution_options(yield_per=BATCH)
        .where(
            sa.or_(
                customers.c.country_code.is_not(None),
                customers.c.province_code.is_not(None),
                customers.c.city.is_not(None),
            )
        )
    )
    for batch in found.partitions():
        values = [
            {
                "shop_id": r.shop_id,
                "customer_id": r.id,
                "country_code": r.country_code.upper() if r.country_code else None,
                "province_code": r.province_code,
                "city": r.city,
                "region_key": region_key(r.country_code, r.province_code),
                "city_key": city_key(r.country_code, r.province_code, r.city),
            }
            for r in batch
        ]
        bind.execute(addresses.insert(), values)


def downgrade() -> None:
    op.drop_table("backfill_addresses")
    op.drop_table("customer_addresses")
