"""product category, and our RFM group renamed: products (and staged products) keep their
taxonomy category id; saved queries that read our `rfm_group` now say `rfm_segment`

Revision ID: 0012_product_category
Revises: 0011_customer_addresses
Create Date: 2026-12-12 12:00:00

`rfm_group` became Shopify's own group (customers.platform_rfm_group, imported): every
stored query that used the name meant this app's computed group, so it is rewritten to the
new name once here. The rule means the same, so no segment is re-evaluated.
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_product_category"
down_revision: str | None = "0011_customer_addresses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A quoted string (kept as it is), or the field name as a whole word (not `x.rfm_group`).
_TOKEN = re.compile(r"'(?:\\.|[^'\\])*'|(?<![\w.])(rfm_group|rfm_segment)(?![\w.])", re.I)


def rename_field(query: str, old: str, new: str) -> str:
    """`query` with the field `old` named `new`, outside quoted strings."""

    def swap(found: re.Match[str]) -> str:
        return new if found.group(1) and found.group(1).lower() == old else found.group(0)

    return _TOKEN.sub(swap, query)


def _rewrite(old: str, new: str) -> None:
    segments = sa.table("segments", sa.column("id", sa.BigInteger), sa.column("query", sa.Text))
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(segments.c.id, segments.c.query).where(segments.c.query.ilike(f"%{old}%"))
    ).all()
    changed = [
        {"sid": row.id, "text": text}
        for row in rows
        if (text := rename_field(row.query, old, new)) != row.query
    ]
    if changed:  # one executemany, not a statement per segment
        stmt = (
            segments.update()
            .where(segments.c.id == sa.bindparam("sid"))
            .values(query=sa.bindparam("text"))
        )
        bind.execute(stmt, changed)


def upgrade() -> None:
    for table in ("products", "backfill_products"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("category_id", sa.String(length=64), nullable=True))
    _rewrite("rfm_group", "rfm_segment")


def downgrade() -> None:
    _rewrite("rfm_segment", "rfm_group")
    for table in ("products", "backfill_products"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("category_id")
