"""What `segments health` shows: the KPI snapshot's day, and for each segment whether the
snapshot can speak for it (never evaluated, created after that day, members only since).

KPIs are of the shop's last complete local day, so on an install's first day every size
is 0; each row says why rather than showing a bare 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.segments.health import latest_daily, local_day_end
from plugin.segments.models import Segment, SegmentDaily, SegmentMembership
from plugin.shops.models import Shop

OK = "ok"
NOT_EVALUATED = "not_evaluated"  # no evaluation yet: the snapshot's 0 means nothing
CREATED_AFTER = "created_after_day"  # the segment did not exist when the day ended
MEMBERS_AFTER = "members_after_day"  # empty that day; its first members came later


@dataclass(frozen=True)
class HealthRow:
    segment: Segment
    daily: SegmentDaily
    status: str
    note: str | None  # the status in words, None when the KPIs speak for themselves


@dataclass(frozen=True)
class HealthReport:
    day: date | None  # None: no snapshot yet (a shop without segments)
    timezone: str
    rows: list[HealthRow]


def health_report(session: Session, shop_id: int) -> HealthReport:
    """The latest KPI snapshot with a status per segment (one extra query for empty ones)."""
    shop = session.get(Shop, shop_id)
    zone = (shop.timezone if shop else None) or "UTC"
    pairs = latest_daily(session, shop_id)
    if not pairs:
        return HealthReport(None, zone, [])
    day = pairs[0][1].day
    end = local_day_end(zone, day)
    empty = [seg.id for seg, daily in pairs if daily.size == 0]
    later = _first_entries_since(session, shop_id, empty, end)
    rows = [_row(seg, daily, end, later.get(seg.id), ZoneInfo(zone)) for seg, daily in pairs]
    return HealthReport(day, zone, rows)


def _row(
    segment: Segment, daily: SegmentDaily, end: datetime, first: datetime | None, zone: ZoneInfo
) -> HealthRow:
    if segment.last_evaluated_at is None:
        return HealthRow(segment, daily, NOT_EVALUATED, "not evaluated yet")
    if segment.created_at >= end:
        created = segment.created_at.astimezone(zone).date()
        note = f"created {created}, after this day: KPIs from that day on"
        return HealthRow(segment, daily, CREATED_AFTER, note)
    if first is not None:
        since = first.astimezone(zone).date()
        note = f"no members that day; members since {since} (size now: `segments list`)"
        return HealthRow(segment, daily, MEMBERS_AFTER, note)
    return HealthRow(segment, daily, OK, None)


def _first_entries_since(
    session: Session, shop_id: int, segment_ids: list[int], end: datetime
) -> dict[int, datetime]:
    """The first entry after `end` of each of these segments (those that had one)."""
    if not segment_ids:
        return {}
    stmt = (
        select(SegmentMembership.segment_id, func.min(SegmentMembership.entered_at))
        .where(
            SegmentMembership.shop_id == shop_id,
            SegmentMembership.segment_id.in_(segment_ids),
            SegmentMembership.entered_at >= end,
        )
        .group_by(SegmentMembership.segment_id)
    )
    return {segment_id: first for segment_id, first in session.execute(stmt)}
