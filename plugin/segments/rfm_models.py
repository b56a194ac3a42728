"""The shop's RFM quintile cut-offs and VIP threshold: the one row each sweep rewrites."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base


class RfmCutoffs(Base):
    """Score = 1 + #{k : value > c_k}; a null cut-off (no row, or no customer with orders)
    makes every score null. R is the last-order instant, so larger means more recent."""

    __tablename__ = "rfm_cutoffs"

    shop_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    computed_at: Mapped[datetime]
    # customers the quintiles are over: those with orders (and a last-order instant)
    customers: Mapped[int] = mapped_column(Integer, default=0)
    r1: Mapped[datetime | None]
    r2: Mapped[datetime | None]
    r3: Mapped[datetime | None]
    r4: Mapped[datetime | None]
    f1: Mapped[int | None] = mapped_column(Integer)
    f2: Mapped[int | None] = mapped_column(Integer)
    f3: Mapped[int | None] = mapped_column(Integer)
    f4: Mapped[int | None] = mapped_column(Integer)
    m1: Mapped[int | None] = mapped_column(BigInteger)
    m2: Mapped[int | None] = mapped_column(BigInteger)
    m3: Mapped[int | None] = mapped_column(BigInteger)
    m4: Mapped[int | None] = mapped_column(BigInteger)
    # VIP: spent_365d_minor at or above its 90th percentile over customers with an order
    # in the last 365 days (nearest rank), and how many such customers there were
    vip_threshold_minor: Mapped[int | None] = mapped_column(BigInteger)
    vip_population: Mapped[int] = mapped_column(Integer, default=0)
