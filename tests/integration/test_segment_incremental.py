"""Incremental sweeps: evaluating only the customers marked by real time or by a job, and
those whose clock-dependent conditions flipped, gives what a full evaluation gives."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.profiles.models import Customer
from plugin.profiles.shop_settings import ABANDONED_AFTER_HOURS, set_setting
from plugin.runtime import Runtime
from plugin.segments.evaluator import evaluate_shop
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.segments.models import Segment, SegmentDirty, SegmentState
from plugin.segments.services import create_segment
from plugin.settings import Settings
from plugin.worker import process_batch
from tests.integration.test_segment_eval_support import (
    customer_id,
    installed,
    order_through_worker,
    segment_id,
    stays,
)
from tests.support.inbox import deliver
from tests.support.profiles import order_payload

SHOP = "incremental.myshopify.com"
DAY0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
# Custom rules whose answers move with the clock in each way the language allows: whole
# local days, hours, a count of days, a ratio of gaps, a windowed function.
CLOCK_RULES = {
    "Ordered this week": "last_order_date >= -7d",
    "Ordered yesterday": "last_order_date = yesterday",
    "Quiet three weeks": "days_since_last_order > 20",
    "Overdue": "order_gap_ratio > 1.5",
    "Two in a month": "orders_placed MATCHES (date >= -30d, count >= 2)",
    "Last day": "last_order_date >= -24h",
    "Regular buyer": "number_of_orders >= 2",
    "Year regulars": "orders_365d >= 2 AND spent_365d > 60",
}


def state(runtime: Runtime, shop_id: int) -> dict[tuple[int, int], int]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(SegmentState.customer_id, SegmentState.word, SegmentState.mask).where(
                SegmentState.shop_id == shop_id
            )
        )
        return {(cid, word): mask for cid, word, mask in rows if mask}


def shop_with_rules(runtime: Runtime, settings: Settings) -> int:
    shop_id = installed(runtime, settings, SHOP, DAY0 - timedelta(days=2))
    with runtime.sessions.begin() as session:
        for name, query in CLOCK_RULES.items():
            create_segment(session, shop_id, name, query, now=DAY0 - timedelta(days=2))
    return shop_id


def test_incremental_evaluation_equals_a_full_one_across_clock_jumps(
    runtime: Runtime, settings: Settings
) -> None:
    shop_id = shop_with_rules(runtime, settings)
    rng = random.Random(12)
    clock = DAY0
    order = 1000
    for c in range(30):  # histories before the first sweep
        for _ in range(rng.randint(0, 3)):
            order += 1
            at = clock - timedelta(hours=rng.randint(1, 24 * 60))
            order_through_worker(runtime, SHOP, str(order), str(c), at)
    assert not sweep_shop(runtime, shop_id, clock, full=True).incremental

    incremental_runs = flips = 0
    for step in range(8):
        clock += timedelta(hours=rng.choice([1, 5, 23, 30, 24 * 3, 24 * 8]))
        for c in rng.sample(range(40), 4):  # some known customers, some new ones
            order += 1
            order_through_worker(runtime, SHOP, str(order), str(c), clock - timedelta(minutes=30))
        result = evaluate_shop(runtime, shop_id, clock, incremental=True)
        with runtime.sessions() as session:
            total = session.scalar(
                select(func.count()).select_from(Customer).where(Customer.shop_id == shop_id)
            )
            assert session.scalar(select(func.count()).select_from(SegmentDirty)) == 0
        assert result.incremental, step
        assert result.evaluated < total, (step, result.evaluated, total)
        incremental_runs += 1
        flips += result.customers_changed
        after = state(runtime, shop_id)
        full = evaluate_shop(runtime, shop_id, clock)
        assert (full.incremental, full.customers_changed) == (False, 0), (step, clock)
        assert state(runtime, shop_id) == after
    assert incremental_runs == 8 and flips > 0  # the clock alone moved memberships


def test_a_boundary_crossed_with_no_event_moves_the_member(
    runtime: Runtime, settings: Settings
) -> None:
    shop_id = shop_with_rules(runtime, settings)
    order_through_worker(runtime, SHOP, "1", "7", DAY0 - timedelta(days=6, hours=20))
    order_through_worker(runtime, SHOP, "2", "8", DAY0 - timedelta(days=1))
    sweep_shop(runtime, shop_id, DAY0, full=True)
    later = DAY0 + timedelta(days=1)
    result = sweep_shop(runtime, shop_id, later)
    assert result.incremental
    with runtime.sessions() as session:
        seven, eight = customer_id(session, shop_id, "7"), customer_id(session, shop_id, "8")
        segment = _custom(session, shop_id, "Ordered this week")
        assert stays(session, segment, seven)[-1][1] == later  # left with no event
        assert stays(session, segment, eight)[-1][1] is None  # still in
        new = segment_id(session, shop_id, "new_customers")
        assert stays(session, new, seven)[-1][1] is None
    # both evaluated, each for a condition its clock moved (7: this week; 8: yesterday)
    assert result.evaluated == 2


def test_real_time_marks_and_the_sweep_forgets(runtime: Runtime, settings: Settings) -> None:
    shop_id = shop_with_rules(runtime, settings)
    sweep_shop(runtime, shop_id, DAY0, full=True)
    order_through_worker(runtime, SHOP, "1", "7", DAY0 + timedelta(minutes=5))
    with runtime.sessions() as session:
        marked = set(session.scalars(select(SegmentDirty.customer_id)))
        assert marked == {customer_id(session, shop_id, "7")}
    result = sweep_shop(runtime, shop_id, DAY0 + timedelta(hours=1))
    assert result.incremental and result.evaluated == 1
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SegmentDirty)) == 0


def test_a_customer_real_time_moved_is_checked_even_when_no_condition_flipped(
    runtime: Runtime, settings: Settings
) -> None:
    """A late order (placed before the last sweep, processed after it) puts a customer in
    a one-day window; at the next sweep the window has passed. Comparing the two sweep
    clocks alone sees no flip (false then, false now): only the mark real time left
    brings the customer back to be evaluated."""
    shop_id = installed(runtime, settings, SHOP, DAY0 - timedelta(days=20))
    with runtime.sessions.begin() as session:  # alone: no other rule of the shop flips
        create_segment(
            session, shop_id, "Ordered yesterday", "last_order_date = yesterday", now=DAY0
        )
    order_through_worker(runtime, SHOP, "1", "7", DAY0 - timedelta(days=10))
    sweep_shop(runtime, shop_id, DAY0, full=True)
    placed = DAY0 - timedelta(hours=1)
    processed = DAY0 + timedelta(days=1)
    payload = order_payload("2", customer="7", total="20.00", updated_at=placed)
    deliver(runtime, SHOP, payload, topic="orders/create", triggered_at=processed)
    assert process_batch(runtime, now=processed) == 1
    with runtime.sessions() as session:
        seven = customer_id(session, shop_id, "7")
        yesterday = _custom(session, shop_id, "Ordered yesterday")
        assert stays(session, yesterday, seven)[-1][1:2] == (None,)  # entered in real time
    result = sweep_shop(runtime, shop_id, DAY0 + timedelta(days=3))
    assert result.incremental
    with runtime.sessions() as session:
        assert stays(session, yesterday, seven)[-1][1] == DAY0 + timedelta(days=3)


def test_a_moved_vip_threshold_moves_members_no_event_touched(
    runtime: Runtime, settings: Settings
) -> None:
    """The VIP threshold is a percentile of the year's spend: big orders by a few raise it,
    and customers nobody touched drop out. The refresh marks the spend band between the
    old and the new threshold; a full evaluation afterwards finds nothing left."""
    shop_id = installed(runtime, settings, SHOP, DAY0 - timedelta(days=20))
    for c in range(20):
        at = DAY0 - timedelta(days=5, hours=c)
        order_through_worker(runtime, SHOP, str(100 + c), str(c), at, total=f"{10 * (c + 1)}.00")
    sweep_shop(runtime, shop_id, DAY0, full=True)
    with runtime.sessions() as session:
        vip = segment_id(session, shop_id, "vip")
        top = customer_id(session, shop_id, "19")
        assert stays(session, vip, top)[-1][1] is None  # the biggest spender is VIP
    for n, c in enumerate(range(20, 26)):  # new, bigger spenders
        at = DAY0 + timedelta(minutes=5 + n)
        order_through_worker(runtime, SHOP, str(200 + c), str(c), at, total="900.00")
    later = DAY0 + timedelta(hours=1)
    result = sweep_shop(runtime, shop_id, later)
    assert result.incremental
    with runtime.sessions() as session:
        assert stays(session, vip, top)[-1][1] == later  # out, with no event of theirs
    full = evaluate_shop(runtime, shop_id, later)
    assert full.customers_changed == 0


def test_what_changes_every_answer_makes_the_sweep_full(
    runtime: Runtime, settings: Settings
) -> None:
    shop_id = shop_with_rules(runtime, settings)
    order_through_worker(runtime, SHOP, "1", "7", DAY0 - timedelta(days=3))
    first = sweep_shop(runtime, shop_id, DAY0)
    assert not first.incremental  # no sweep recorded yet: rules pending
    assert sweep_shop(runtime, shop_id, DAY0 + timedelta(hours=1)).incremental
    with runtime.sessions.begin() as session:
        set_setting(session, shop_id, ABANDONED_AFTER_HOURS, 5)
    assert not sweep_shop(runtime, shop_id, DAY0 + timedelta(hours=2)).incremental
    assert sweep_shop(runtime, shop_id, DAY0 + timedelta(hours=3)).incremental
    with runtime.sessions.begin() as session:
        create_segment(session, shop_id, "Big", "amount_spent > 10", now=DAY0)
    assert not sweep_shop(runtime, shop_id, DAY0 + timedelta(hours=4)).incremental
    assert not sweep_shop(runtime, shop_id, DAY0 + timedelta(hours=5), full=True).incremental
    assert not sweep_shop(runtime, shop_id, DAY0 + timedelta(hours=4, minutes=30)).incremental


def _custom(session: Session, shop_id: int, name: str) -> int:
    found = session.scalar(
        select(Segment.id).where(Segment.shop_id == shop_id, Segment.name == name)
    )
    assert found is not None
    return int(found)
