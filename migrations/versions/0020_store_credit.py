"""store credit: each customer's store credit accounts (balance per currency) and their
credits (when given, when they expire, what remains) for `store_credit_accounts MATCHES`,
and the staging table of their export

Revision ID: 0020_store_credit
Revises: 0019_customer_companies
Create Date: 2026-12-16 16:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import plugin.db

revision: str = "0020_store_credit"
down_revision: str | None = "0019_customer_companies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _owned(table: str) -> list[Any]:
    return [
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f(f"fk_{table}_customer_id_customers"),
            ondelete="CASCADE",
        ),
        _shop_fk(table),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def _shop_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["shop_id"], ["shops.id"], name=op.f(f"fk_{table}_shop_id_shops"), ondelete="CASCADE"
    )


def _time(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, plugin.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "store_credit_accounts",
        *_owned("store_credit_accounts"),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("exponent", sa.SmallInteger(), nullable=False),
        sa.Column("balance_minor", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_store_credit_accounts_customer", "store_credit_accounts", ["customer_id"])
    op.create_table(
        "store_credits",
        *_owned("store_credits"),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        _time("credited_at", nullable=False),
        _time("expires_at"),
        sa.Column("remaining_minor", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_store_credits_customer", "store_credits", ["customer_id", "account_id"])
    op.create_table(
        "backfill_store_credit",
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("customer_platform_id", sa.String(length=64), nullable=True),
        sa.Column("account_id", sa.String(length=64), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("exponent", sa.SmallInteger(), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        _time("credited_at"),
        _time("expires_at"),
        _shop_fk("backfill_store_credit"),
        sa.PrimaryKeyConstraint("run_id", "seq", name=op.f("pk_backfill_store_credit")),
    )
    op.create_index(
        "ix_backfill_store_credit_owner",
        "backfill_store_credit",
        ["run_id", "kind", "customer_platform_id"],
    )
    op.create_index(
        "ix_backfill_store_credit_account",
        "backfill_store_credit",
        ["run_id", "kind", "account_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_backfill_store_credit_account", table_name="backfill_store_credit")
    op.drop_index("ix_backfill_store_credit_owner", table_name="backfill_store_credit")
    op.drop_table("backfill_store_credit")
    op.drop_index("ix_store_credits_customer", table_name="store_credits")
    op.drop_table("store_credits")
    op.drop_index("ix_store_credit_accounts_customer", table_name="store_credit_accounts")
    op.drop_table("store_credit_accounts")
