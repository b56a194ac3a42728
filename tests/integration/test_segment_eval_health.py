"""Segment health: daily KPIs computed by hand on a small store, flags and dismissals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from plugin.jobs import segment_daily_kpis
from plugin.profiles.shop_settings import set_setting
from plugin.runtime import Runtime
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.segments.health import (
    MIN_SIZE,
    compute_daily,
    dismiss_flag,
    health_flags,
    local_day_end,
)
from plugin.segments.models import SegmentDaily, SegmentMembership
from plugin.segments.services import create_segment, find_segment
from plugin.settings import Settings
from plugin.shops.models import Shop
from tests.integration.test_segment_eval_support import customer_id, installed
from tests.support.profiles import apply_payload, order_payload

DAY = date(2026, 3, 10)
END = datetime(2026, 3, 11, tzinfo=UTC)  # the shop is on UTC: day D ends at midnight
SHOP = "kpi.myshopify.com"


def order(
    runtime: Runtime, settings: Settings, shop_id: int, oid: str, who: str, days: int, total: str
) -> None:
    when = END - timedelta(days=days)
    with runtime.sessions() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        payload = order_payload(oid, customer=who, total=total, updated_at=when)
        apply_payload(session, shop, "orders/create", payload, settings=settings, now=when)


@pytest.fixture
def store(runtime: Runtime, settings: Settings) -> int:
    """c1: orders 100, 20 and 10 days before END (10, 30, 60); c2: one 5 days before (50).
    Regular = {c1}; Buyers (number_of_orders >= 1) = {c1, c2}; swept an hour before END."""
    shop_id = installed(runtime, settings, SHOP, END - timedelta(days=200))
    for oid, who, days, total in (
        ("1", "1", 100, "10.00"),
        ("2", "1", 20, "30.00"),
        ("3", "1", 10, "60.00"),
        ("4", "2", 5, "50.00"),
    ):
        order(runtime, settings, shop_id, oid, who, days, total)
    with runtime.sessions.begin() as session:
        create_segment(session, shop_id, "Buyers", "number_of_orders >= 1", now=END)
    sweep_shop(runtime, shop_id, END - timedelta(hours=1))
    return shop_id


def stay(session, shop_id: int, segment: int, customer: int, entered: int, reason: str) -> None:
    at = END - timedelta(days=entered)
    session.add(
        SegmentMembership(
            shop_id=shop_id,
            segment_id=segment,
            customer_id=customer,
            entered_at=at,
            exited_at=at + timedelta(hours=1),
            entered_reason=reason,
            exited_reason="sweep",
        )
    )


def test_daily_kpis_match_the_hand_computation(runtime: Runtime, store: int) -> None:
    with runtime.sessions.begin() as session:
        buyers = find_segment(session, store, "Buyers").id
        one, two = customer_id(session, store, "1"), customer_id(session, store, "2")
        stay(session, store, buyers, one, 45, "realtime")  # ordered 20 days before END: converted
        stay(session, store, buyers, two, 40, "sweep")  # next order 35 days later: not converted
        stay(session, store, buyers, one, 35, "initial")  # a backfill: not counted
        stay(session, store, buyers, two, 25, "realtime")  # entered too recently: not counted
        compute_daily(session, store, DAY, END)
    with runtime.sessions() as session:
        rows = {
            r.segment_id: r
            for r in session.scalars(select(SegmentDaily).where(SegmentDaily.day == DAY))
        }
        regular = rows[find_segment(session, store, "Regular").id]
        both = rows[buyers]
    # Regular: c1 only; its orders in the 90 days before END are 30.00 and 60.00.
    assert (regular.size, regular.revenue_90d_minor, regular.orders_90d) == (1, 9000, 2)
    assert (regular.aov_minor, regular.orders_per_member, regular.repeat_rate) == (4500, 2.0, 1.0)
    assert (both.size, both.revenue_90d_minor, both.orders_90d) == (2, 14000, 3)
    assert (both.aov_minor, both.orders_per_member, both.repeat_rate) == (4667, 1.5, 0.5)
    assert (both.conversion_30d, both.conversion_n) == (0.5, 2)
    assert (regular.conversion_30d, regular.conversion_n) == (None, 0)


def test_flags_small_similar_and_contained_segments_until_dismissed(
    runtime: Runtime, store: int
) -> None:
    with runtime.sessions.begin() as session:
        assert "small:regular" in {f.key for f in health_flags(session, store)}  # 1 < 50
        set_setting(session, store, MIN_SIZE, 1)
        keys = {f.key for f in health_flags(session, store)}
        # VIP is c1 alone (top spender), as is Regular: identical members.
        assert "merge:regular:vip" in keys
        assert "contained:regular:buyers" in keys  # all of Regular is inside Buyers
        assert {"small:regular", "small:buyers", "small:vip"}.isdisjoint(keys)
        dismiss_flag(session, store, "merge:regular:vip", END)
        assert "merge:regular:vip" not in {f.key for f in health_flags(session, store)}


def test_the_job_computes_each_local_day_once(runtime: Runtime, store: int) -> None:
    segment_daily_kpis(runtime, END + timedelta(hours=2))
    with runtime.sessions() as session:
        days = set(session.scalars(select(SegmentDaily.day)))
        computed = set(session.scalars(select(SegmentDaily.computed_at)))
    assert (days, computed) == ({DAY}, {END + timedelta(hours=2)})
    segment_daily_kpis(runtime, END + timedelta(hours=3))  # same local day: nothing redone
    with runtime.sessions() as session:
        assert set(session.scalars(select(SegmentDaily.computed_at))) == computed


def test_a_local_day_ends_at_the_shops_midnight_across_dst() -> None:
    # Warsaw moves to summer time on 29 March 2026: that day is 23 hours long.
    assert local_day_end("Europe/Warsaw", date(2026, 3, 28)) == datetime(
        2026, 3, 28, 23, tzinfo=UTC
    )
    assert local_day_end("Europe/Warsaw", date(2026, 3, 29)) == datetime(
        2026, 3, 29, 22, tzinfo=UTC
    )
    assert local_day_end("Asia/Kathmandu", date(2026, 3, 29)) == datetime(
        2026, 3, 29, 18, 15, tzinfo=UTC
    )


def test_todays_provisional_kpis_are_computed_again_once_the_day_is_over(
    runtime: Runtime, settings: Settings, store: int
) -> None:
    """After an import the dashboard gets today's figures at once; the nightly job does not
    take that early row for the finished day's."""
    from plugin.segments.health import compute_today, ensure_daily

    during = END - timedelta(hours=3)  # DAY, before it ends
    with runtime.sessions.begin() as session:
        assert compute_today(session, store, during) == DAY
    order(runtime, settings, store, "5", "2", 0, "40.00")  # later that day (at END - 0 days)
    with runtime.sessions.begin() as session:
        buyers = find_segment(session, store, "Buyers").id
        early = session.get(SegmentDaily, (buyers, DAY))
        assert early is not None and early.revenue_90d_minor == 14000
        assert ensure_daily(session, store, END + timedelta(hours=1)) == DAY  # recomputed
        assert ensure_daily(session, store, END + timedelta(hours=2)) is None  # final now
    with runtime.sessions() as session:
        final = session.get(SegmentDaily, (buyers, DAY))
        assert final is not None and final.computed_at >= END
