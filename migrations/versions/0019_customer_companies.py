"""customer_companies: the B2B companies a customer buys for (`companies CONTAINS …`),
and their staging table for the import and the periodic refresh

Revision ID: 0019_customer_companies
Revises: 0018_customer_metafields
Create Date: 2026-12-16 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_customer_companies"
down_revision: str | None = "0018_customer_metafields"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _shop_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["shop_id"], ["shops.id"], name=op.f(f"fk_{table}_shop_id_shops"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "customer_companies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_companies_customer_id_customers"),
            ondelete="CASCADE",
        ),
        _shop_fk("customer_companies"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_companies")),
    )
    op.create_index("ix_customer_companies_customer", "customer_companies", ["customer_id"])
    op.create_index(
        "ix_customer_companies_shop_company", "customer_companies", ["shop_id", "company_id"]
    )
    op.create_table(
        "backfill_companies",
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("customer_platform_id", sa.String(length=64), nullable=False),
        sa.Column("company_id", sa.String(length=64), nullable=True),
        _shop_fk("backfill_companies"),
        sa.PrimaryKeyConstraint("run_id", "seq", "position", name=op.f("pk_backfill_companies")),
    )


def downgrade() -> None:
    op.drop_table("backfill_companies")
    op.drop_index("ix_customer_companies_shop_company", table_name="customer_companies")
    op.drop_index("ix_customer_companies_customer", table_name="customer_companies")
    op.drop_table("customer_companies")
