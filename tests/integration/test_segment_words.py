"""Past 63 segments: a shop's membership bits spread over several state words, and a sweep,
real-time updates, disabling and tag planning read and write the right word."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.profiles.models import Customer
from plugin.runtime import Runtime
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.segments.models import (
    WORD_BITS,
    Segment,
    SegmentMembership,
    SegmentState,
)
from plugin.segments.services import create_segment, disable_segment
from plugin.settings import Settings
from plugin.shops.models import Shop
from plugin.tagsync.desired import plan_customers
from tests.integration.test_segment_eval_support import installed, order_through_worker
from tests.support.profiles import apply_payload, order_payload

DOMAIN = "many.myshopify.com"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ORDERS = {"1": 1, "2": 2, "3": 3, "4": 4, "5": 6, "6": 0}  # 20.00 each
SEGMENTS = 500


def query_of(n: int) -> tuple[str, int, int]:
    """The n-th custom rule: (query, minimum spend, order-count ceiling) — one bound each."""
    if n % 2:
        ceiling = n % 7
        return f"number_of_orders < {ceiling}", 0, ceiling
    floor = 10 * (n % 13)
    return f"amount_spent >= {floor}", floor, 10**6


def expected(n: int, counts: dict[str, int]) -> set[str]:
    _query, floor, ceiling = query_of(n)
    return {
        cid
        for cid, count in counts.items()
        if count and 20 * count >= floor and count < ceiling  # no order: no profile
    }


def open_members(session: Session, segment: int) -> set[str]:
    rows = session.scalars(
        select(Customer.platform_id)
        .join(SegmentMembership, SegmentMembership.customer_id == Customer.id)
        .where(SegmentMembership.segment_id == segment, SegmentMembership.exited_at.is_(None))
    )
    return set(rows)


def seed(runtime: Runtime, settings: Settings) -> tuple[int, dict[int, int]]:
    """A shop with built-ins plus custom rules up to SEGMENTS, and the history of ORDERS;
    returns the shop and the custom rules' segment ids by their number."""
    shop_id = installed(runtime, settings, DOMAIN, T0 - timedelta(days=30))
    customs: dict[int, int] = {}
    with runtime.sessions.begin() as session:
        builtins = len(session.scalars(select(Segment.id).where(Segment.shop_id == shop_id)).all())
        for n in range(SEGMENTS - builtins):
            query, _floor, _ceiling = query_of(n)
            tag = f"rule-{n}" if n == SEGMENTS - builtins - 1 else None
            customs[n] = create_segment(session, shop_id, f"rule {n}", query, now=T0, tag=tag).id
    with runtime.sessions() as session:  # apply_payload commits each order
        shop = session.get(Shop, shop_id)
        assert shop is not None
        for customer, count in ORDERS.items():
            for k in range(count):
                when = T0 - timedelta(days=10 - k)
                payload = order_payload(
                    f"{customer}0{k}", customer=customer, total="20.00", updated_at=when
                )
                apply_payload(session, shop, "orders/create", payload, settings=settings, now=when)
    return shop_id, customs


def test_a_shop_with_500_segments_sweeps_and_updates_in_real_time(
    runtime: Runtime, settings: Settings
) -> None:
    shop_id, customs = seed(runtime, settings)
    sweep_shop(runtime, shop_id, T0)
    with runtime.sessions() as session:
        bits = dict(session.execute(select(Segment.id, Segment.bit)).tuples().all())
        assert max(bits.values()) == SEGMENTS - 1 and len(set(bits.values())) == SEGMENTS
        for n, segment in customs.items():
            assert open_members(session, segment) == expected(n, ORDERS), (n, bits[segment])
        words = session.scalars(
            select(SegmentState.word).where(SegmentState.shop_id == shop_id).distinct()
        ).all()
        assert sorted(words) == list(range((SEGMENTS - 1) // WORD_BITS + 1))
        # The last rule pushes a tag: its members' plans add it, the others' do not.
        last = max(customs)
        members = open_members(session, customs[last])
        ids = dict(session.execute(select(Customer.platform_id, Customer.id)).tuples().all())
        plans = plan_customers(session, shop_id, list(ids.values()), T0)
        tagged = {
            pid
            for pid, cid in ids.items()
            if any(t.endswith(f"rule-{last}") for t in plans[cid].add)
        }
        assert members and tagged == members

    # Customer 2 orders a third time: every rule they now cross moves in real time,
    # whichever word holds its bit.
    order_through_worker(runtime, DOMAIN, "299", "2", T0 + timedelta(hours=1), total="20.00")
    after = {**ORDERS, "2": 3}
    with runtime.sessions() as session:
        moved = {n for n in customs if expected(n, ORDERS) != expected(n, after)}
        assert any(bits[customs[n]] >= 7 * WORD_BITS for n in moved)  # the last word too
        for n, segment in customs.items():
            assert open_members(session, segment) == expected(n, after), (n, bits[segment])
        reasons = set(
            session.scalars(
                select(SegmentMembership.entered_reason).where(
                    SegmentMembership.segment_id.in_([customs[n] for n in moved]),
                    SegmentMembership.entered_at == T0 + timedelta(hours=1),
                )
            )
        )
        assert reasons == {"realtime"}


def test_disabling_a_segment_past_the_first_word_clears_only_its_bit(
    runtime: Runtime, settings: Settings
) -> None:
    shop_id, customs = seed(runtime, settings)
    sweep_shop(runtime, shop_id, T0)
    last = max(customs)
    with runtime.sessions.begin() as session:
        segment = session.get(Segment, customs[last])
        assert segment is not None and segment.bit >= 7 * WORD_BITS
        assert open_members(session, segment.id)  # something to clear
        disable_segment(session, shop_id, segment.name, now=T0)
    with runtime.sessions() as session:
        assert open_members(session, customs[last]) == set()
        for n, other in customs.items():
            if n != last:
                assert open_members(session, other) == expected(n, ORDERS)
        word = segment.bit // WORD_BITS
        masks = session.scalars(
            select(SegmentState.mask).where(
                SegmentState.shop_id == shop_id, SegmentState.word == word
            )
        ).all()
        assert masks and not any(mask >> (segment.bit % WORD_BITS) & 1 for mask in masks)
    # A later sweep agrees: nothing left to move.
    assert sweep_shop(runtime, shop_id, T0 + timedelta(minutes=5)).customers_changed == 0
