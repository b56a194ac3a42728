"""Segment health: daily KPIs per segment into `segment_daily`, small-segment and overlap
flags, and the merchant's dismissals of those flags.

KPIs of local day D are computed once D has ended in the shop's timezone, over the stays
open at its end (E = the local midnight after D):
- size: stays open at E;
- revenue_90d / orders_90d: counted orders of those members placed in [E - 90 d, E);
- AOV = revenue_90d ÷ orders_90d; orders per member = orders_90d ÷ size;
- repeat rate = members with 2+ orders ÷ members with 1+ (trivially 1 for Regular and 0
  for One-time buyers: their rules decide it);
- conversion_30d: stays entered in [E - 60 d, E - 30 d) — initial and rule-edit entries
  excluded — with a counted order within 30 days after entering; `conversion_n` stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import combinations
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, delete, func, or_, select
from sqlalchemy.orm import Session, aliased

from plugin.profiles.metrics import counted_orders
from plugin.profiles.models import Customer, Order
from plugin.segments.models import (
    INITIAL,
    RULE_EDIT,
    Segment,
    SegmentDaily,
    SegmentFlagDismissal,
    SegmentMembership,
    SegmentState,
    combine,
)
from plugin.shops.models import Shop, ShopSetting

MIN_SIZE = "segment_min_size"
DEFAULT_MIN_SIZE = 50
JACCARD_MERGE = 0.8
CONTAINMENT = 0.9


@dataclass(frozen=True)
class Flag:
    key: str  # stable, for dismissal: small:<slug>, merge:<a>:<b>, contained:<a>:<b>
    message: str


def local_day_end(timezone: str, day: date) -> datetime:
    """The instant local day `day` ends (the next local midnight), DST-safe."""
    return datetime.combine(day + timedelta(days=1), time(0), ZoneInfo(timezone))


def min_size(session: Session, shop_id: int) -> int:
    row = session.get(ShopSetting, (shop_id, MIN_SIZE))
    value = row.value.get("value") if row is not None and isinstance(row.value, dict) else None
    return int(value or DEFAULT_MIN_SIZE)


def _members_at(shop_id: int, end: datetime) -> Any:
    return (
        select(SegmentMembership.segment_id, SegmentMembership.customer_id)
        .where(
            SegmentMembership.shop_id == shop_id,
            SegmentMembership.entered_at < end,
            or_(SegmentMembership.exited_at.is_(None), SegmentMembership.exited_at >= end),
        )
        .subquery("m")
    )


def _sizes_and_repeat(session: Session, shop_id: int, m: Any) -> dict[int, Any]:
    stmt = (
        select(
            m.c.segment_id,
            func.count().label("size"),
            func.sum(case((Customer.orders_count >= 2, 1), else_=0)).label("repeat"),
            func.sum(case((Customer.orders_count >= 1, 1), else_=0)).label("buyers"),
        )
        .join(Customer, Customer.id == m.c.customer_id)
        .where(Customer.shop_id == shop_id)
        .group_by(m.c.segment_id)
    )
    return {row.segment_id: row for row in session.execute(stmt)}


def _revenue(session: Session, shop_id: int, m: Any, end: datetime) -> dict[int, Any]:
    stmt = (
        select(
            m.c.segment_id,
            func.coalesce(func.sum(Order.net_total_minor), 0).label("revenue"),
            func.count(Order.id).label("orders"),
        )
        .join(Order, Order.customer_id == m.c.customer_id)
        .where(*counted_orders(shop_id), Order.ordered_at >= end - timedelta(days=90))
        .where(Order.ordered_at < end)
        .group_by(m.c.segment_id)
    )
    return {row.segment_id: row for row in session.execute(stmt)}


def _conversions(session: Session, shop_id: int, end: datetime) -> dict[int, tuple[int, int]]:
    """(converted, stays) per segment for stays entered in [end - 60 d, end - 30 d)."""
    first_order = (
        select(func.min(Order.ordered_at))
        .where(
            *counted_orders(shop_id),
            Order.customer_id == SegmentMembership.customer_id,
            Order.ordered_at >= SegmentMembership.entered_at,
        )
        .scalar_subquery()
    )
    stmt = select(
        SegmentMembership.segment_id, SegmentMembership.entered_at, first_order.label("first")
    ).where(
        SegmentMembership.shop_id == shop_id,
        SegmentMembership.entered_at >= end - timedelta(days=60),
        SegmentMembership.entered_at < end - timedelta(days=30),
        SegmentMembership.entered_reason.not_in((INITIAL, RULE_EDIT)),
    )
    found: dict[int, tuple[int, int]] = {}
    for segment_id, entered, first in session.execute(stmt):
        converted, n = found.get(segment_id, (0, 0))
        hit = first is not None and first < entered + timedelta(days=30)
        found[segment_id] = (converted + hit, n + 1)
    return found


def _ratio(part: int | None, whole: int | None) -> float | None:
    return None if not whole else (part or 0) / whole


def compute_daily(session: Session, shop_id: int, day: date, now: datetime) -> int:
    """Write (replace) every segment's KPI row for local day `day`; returns rows written."""
    shop = session.get(Shop, shop_id)
    end = local_day_end((shop.timezone if shop else None) or "UTC", day)
    m = _members_at(shop_id, end)
    sizes, revenue = _sizes_and_repeat(session, shop_id, m), _revenue(session, shop_id, m, end)
    conversions = _conversions(session, shop_id, end)
    session.execute(
        delete(SegmentDaily).where(SegmentDaily.shop_id == shop_id, SegmentDaily.day == day)
    )
    segment_ids = session.scalars(select(Segment.id).where(Segment.shop_id == shop_id)).all()
    for segment_id in segment_ids:
        session.add(_daily_row(shop_id, segment_id, day, now, sizes, revenue, conversions))
    session.flush()
    return len(segment_ids)


def _daily_row(
    shop_id: int,
    segment_id: int,
    day: date,
    now: datetime,
    sizes: dict[int, Any],
    revenue: dict[int, Any],
    conversions: dict[int, tuple[int, int]],
) -> SegmentDaily:
    size_row, money = sizes.get(segment_id), revenue.get(segment_id)
    size = size_row.size if size_row else 0
    total, orders = (money.revenue, money.orders) if money else (0, 0)
    converted, n = conversions.get(segment_id, (0, 0))
    return SegmentDaily(
        shop_id=shop_id,
        segment_id=segment_id,
        day=day,
        size=size,
        revenue_90d_minor=int(total),
        orders_90d=orders,
        aov_minor=round(total / orders) if orders else None,
        orders_per_member=_ratio(orders, size),
        repeat_rate=_ratio(size_row.repeat, size_row.buyers) if size_row else None,
        conversion_30d=_ratio(converted, n),
        conversion_n=n,
        computed_at=now,
    )


def overlaps(session: Session, shop_id: int) -> dict[tuple[int, int], int]:
    """|A ∩ B| for every pair of slots, from the distinct combinations of mask words and
    their counts (one GROUP BY over a join per stored word, not a row per customer)."""
    words = sorted(
        session.scalars(select(SegmentState.word).where(SegmentState.shop_id == shop_id).distinct())
    )
    if not words:
        return {}
    states = {word: aliased(SegmentState, name=f"w{word}") for word in words}
    held = (
        select(SegmentState.customer_id.label("cid"))
        .where(SegmentState.shop_id == shop_id, SegmentState.mask != 0)
        .distinct()
        .subquery()
    )
    masks = [func.coalesce(state.mask, 0) for state in states.values()]
    stmt = select(*masks, func.count()).select_from(held)
    for word, state in states.items():
        stmt = stmt.outerjoin(
            state,
            and_(state.shop_id == shop_id, state.customer_id == held.c.cid, state.word == word),
        )
    stmt = stmt.group_by(*masks)
    pairs: dict[tuple[int, int], int] = {}
    for *stored, count in session.execute(stmt):
        bits_held = combine(zip(words, stored, strict=True))
        if not bits_held:
            continue
        bits = [b for b in range(bits_held.bit_length()) if bits_held >> b & 1]
        for pair in combinations(bits, 2):
            pairs[pair] = pairs.get(pair, 0) + count
        for bit in bits:
            pairs[(bit, bit)] = pairs.get((bit, bit), 0) + count
    return pairs


def health_flags(session: Session, shop_id: int) -> list[Flag]:
    """Small segments, and pairs similar enough to merge or one inside the other; only
    segments at or above the minimum size are compared; dismissed flags are left out."""
    floor = min_size(session, shop_id)
    segments = session.scalars(
        select(Segment).where(Segment.shop_id == shop_id, Segment.enabled.is_(True))
    ).all()
    pairs = overlaps(session, shop_id)
    size = {s.bit: pairs.get((s.bit, s.bit), 0) for s in segments}
    flags = [
        Flag(f"small:{s.slug}", f"{s.name}: {size[s.bit]} members, under the minimum of {floor}")
        for s in segments
        if size[s.bit] < floor
    ]
    big = sorted((s for s in segments if size[s.bit] >= floor), key=lambda s: s.bit)
    for a, b in combinations(big, 2):
        flags += _pair_flags(a, b, size[a.bit], size[b.bit], pairs.get((a.bit, b.bit), 0))
    dismissed = set(
        session.scalars(
            select(SegmentFlagDismissal.flag).where(SegmentFlagDismissal.shop_id == shop_id)
        )
    )
    return [f for f in flags if f.key not in dismissed]


def _pair_flags(a: Segment, b: Segment, size_a: int, size_b: int, both: int) -> list[Flag]:
    union = size_a + size_b - both
    if union and both / union > JACCARD_MERGE:
        share = round(100 * both / union)
        return [
            Flag(
                f"merge:{a.slug}:{b.slug}",
                f"{a.name} and {b.name} share {share}%: consider merging",
            )
        ]
    smaller, larger = (a, b) if size_a <= size_b else (b, a)
    if both and both / min(size_a, size_b) >= CONTAINMENT:
        key = f"contained:{smaller.slug}:{larger.slug}"
        return [Flag(key, f"{smaller.name} is almost entirely inside {larger.name}")]
    return []


def dismiss_flag(session: Session, shop_id: int, flag: str, now: datetime) -> None:
    if session.get(SegmentFlagDismissal, (shop_id, flag)) is None:
        session.add(SegmentFlagDismissal(shop_id=shop_id, flag=flag, dismissed_at=now))


def last_complete_day(session: Session, shop_id: int, now: datetime) -> date:
    """The shop's local yesterday: the latest day that has ended."""
    shop = session.get(Shop, shop_id)
    zone = ZoneInfo((shop.timezone if shop else None) or "UTC")
    return now.astimezone(zone).date() - timedelta(days=1)


def ensure_daily(session: Session, shop_id: int, now: datetime) -> date | None:
    """Compute the last complete day's KPIs unless already done; the day computed or None.

    A row computed before its day ended (`compute_today`, after an import) is provisional
    and is computed again once the day is over.
    """
    day = last_complete_day(session, shop_id, now)
    shop = session.get(Shop, shop_id)
    ended = local_day_end((shop.timezone if shop else None) or "UTC", day)
    done = select(SegmentDaily.segment_id).where(
        SegmentDaily.shop_id == shop_id,
        SegmentDaily.day == day,
        SegmentDaily.computed_at >= ended,
    )
    if session.scalar(done.limit(1)) is not None:
        return None
    compute_daily(session, shop_id, day, now)
    return day


def compute_today(session: Session, shop_id: int, now: datetime) -> date:
    """Provisional KPIs for the shop's local today, so a shop whose history was just imported
    shows figures at once instead of after its first midnight."""
    day = last_complete_day(session, shop_id, now) + timedelta(days=1)
    compute_daily(session, shop_id, day, now)
    return day


def latest_daily(session: Session, shop_id: int) -> list[tuple[Segment, SegmentDaily]]:
    day = session.scalar(select(func.max(SegmentDaily.day)).where(SegmentDaily.shop_id == shop_id))
    stmt = (
        select(Segment, SegmentDaily)
        .join(SegmentDaily, SegmentDaily.segment_id == Segment.id)
        .where(SegmentDaily.shop_id == shop_id, SegmentDaily.day == day)
        .order_by(Segment.bit)
    )
    return [(seg, daily) for seg, daily in session.execute(stmt).tuples()]
