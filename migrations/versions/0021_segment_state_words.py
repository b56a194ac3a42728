"""segment state words: a customer's membership bits in rows of 63 bits each (`word`), so a
shop holds up to 1,008 segments instead of 63

Revision ID: 0021_segment_state_words
Revises: 0020_store_credit
Create Date: 2026-12-05 00:30:00

Every existing row becomes word 0 with the same mask: slots 0..62 are bits 0..62 of word 0,
so no membership, stay or event changes. The downgrade refuses while a shop has a
segment in a slot past 62, whose members the old single mask cannot hold.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_segment_state_words"
down_revision: str | None = "0020_store_credit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("segment_state", recreate="always") as batch:
        batch.add_column(
            sa.Column("word", sa.SmallInteger(), nullable=False, server_default=sa.text("0"))
        )
        batch.drop_constraint("pk_segment_state", type_="primary")
        batch.create_primary_key("pk_segment_state", ["shop_id", "customer_id", "word"])


def downgrade() -> None:
    beyond = op.get_bind().scalar(sa.text("SELECT count(*) FROM segments WHERE bit > 62"))
    if beyond:
        raise RuntimeError(
            f"{beyond} segments sit in slots past 62, which 0020's single mask cannot hold:"
            " delete them (`shopseg segments delete`) before downgrading"
        )
    op.execute("DELETE FROM segment_state WHERE word <> 0")
    with op.batch_alter_table("segment_state", recreate="always") as batch:
        batch.drop_constraint("pk_segment_state", type_="primary")
        batch.create_primary_key("pk_segment_state", ["shop_id", "customer_id"])
        batch.drop_column("word")
