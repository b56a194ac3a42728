"""One customer for the admin: RFM scores and group as the segment language computes them
(ours beside Shopify's imported ones), and segment stays with since-when and the reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.profiles.models import Customer
from plugin.segments.models import Segment, SegmentMembership
from plugin.segments.rfm import rfm_group, rfm_score

MAX_STAYS = 100


@dataclass(frozen=True)
class Rfm:
    r: int | None
    f: int | None
    m: int | None
    group: str | None  # a key of plugin.segments.rfm.GROUPS; None before the first sweep
    # Shopify's own (`rfm_group`, `predicted_spend_tier`), lower case; None until imported
    shopify_group: str | None = None
    shopify_spend_tier: str | None = None


@dataclass(frozen=True)
class Stay:
    segment: str
    slug: str
    query: str
    entered_at: datetime
    entered_reason: str
    exited_at: datetime | None
    exited_reason: str | None


def customer_rfm(session: Session, shop_id: int, customer_id: int) -> Rfm:
    """The customer's R, F, M scores (1-5) and group, as stored by the sweep, and
    the group and spend tier Shopify computed (they differ: Shopify's cut-offs are unknown)."""
    row = session.execute(
        select(
            rfm_score("r"),
            rfm_score("f"),
            rfm_score("m"),
            rfm_group(),
            func.lower(Customer.platform_rfm_group),
            func.lower(Customer.predicted_spend_tier),
        ).where(Customer.shop_id == shop_id, Customer.id == customer_id)
    ).one_or_none()
    return Rfm(*row) if row is not None else Rfm(None, None, None, None)


def customer_stays(session: Session, shop_id: int, customer_id: int) -> list[Stay]:
    """Current stays first (newest entry first), then the latest past ones."""
    stmt = (
        select(
            Segment.name,
            Segment.slug,
            Segment.query,
            SegmentMembership.entered_at,
            SegmentMembership.entered_reason,
            SegmentMembership.exited_at,
            SegmentMembership.exited_reason,
        )
        .join(Segment, Segment.id == SegmentMembership.segment_id)
        .where(SegmentMembership.shop_id == shop_id, SegmentMembership.customer_id == customer_id)
        .order_by(
            SegmentMembership.exited_at.is_not(None),
            SegmentMembership.exited_at.desc(),
            SegmentMembership.entered_at.desc(),
        )
        .limit(MAX_STAYS)
    )
    return [Stay(*row) for row in session.execute(stmt)]
