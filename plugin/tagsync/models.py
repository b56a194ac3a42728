"""The tags the app owns in a shop: only these are ever added or removed on customers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, BigIntPK, shop_fk, utcnow


class ManagedTag(Base):
    __tablename__ = "managed_tags"
    __table_args__ = (UniqueConstraint("shop_id", "tag_cf"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    tag: Mapped[str] = mapped_column(String(255))
    tag_cf: Mapped[str] = mapped_column(String(255))
    # The segment it stands for; null for trigger tags (e.g. seg:cart-reminder) and for a
    # tag whose segment was deleted or retagged (still owned: it is removed from customers).
    segment_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("segments.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
