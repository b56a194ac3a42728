"""The playbook scenario: one customer's lifecycle new → regular → inactive → regular, with
the New customers / Regular / Inactive memberships changing exactly as their rules say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from plugin.runtime import Runtime
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.segments.models import INITIAL, SegmentEvent
from plugin.settings import Settings
from tests.integration.test_segment_eval_support import (
    customer_id,
    events,
    installed,
    order_through_worker,
    segment_id,
    stays,
)
from tests.support.profiles import apply_payload, order_payload

SHOP = "scenario.myshopify.com"
DAY0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def day(n: int) -> datetime:
    return DAY0 + timedelta(days=n)


def test_lifecycle_moves_memberships_with_their_reasons(
    runtime: Runtime, settings: Settings
) -> None:
    shop_id = installed(runtime, settings, SHOP, day(-2))
    sweep_shop(runtime, shop_id, day(-1))  # settles the built-ins on an empty shop

    order_through_worker(runtime, SHOP, "1001", "7", day(0))  # first order: new
    sweep_shop(runtime, shop_id, day(35))  # the first order is over 30 days old
    order_through_worker(runtime, SHOP, "1002", "7", day(40))
    order_through_worker(runtime, SHOP, "1003", "7", day(80))  # third order: regular
    sweep_shop(runtime, shop_id, day(150))  # 70 days silent: nothing yet
    sweep_shop(runtime, shop_id, day(175))  # 95 days silent, no event: inactive
    order_through_worker(runtime, SHOP, "1004", "7", day(200))  # back: regular again

    with runtime.sessions() as session:
        seven = customer_id(session, shop_id, "7")
        new, regular, inactive = (
            segment_id(session, shop_id, key) for key in ("new_customers", "regular", "inactive")
        )
        assert stays(session, new, seven) == [(day(0), day(35), "realtime", "sweep")]
        assert stays(session, regular, seven) == [(day(80), None, "realtime", None)]
        assert stays(session, inactive, seven) == [(day(175), day(200), "sweep", "realtime")]
        timeline = [
            (kind, reason, at)
            for seg, _c, kind, reason, at in events(session, shop_id)
            if seg in (new, regular, inactive)
        ]
        assert timeline == [
            ("entered", "realtime", day(0)),
            ("exited", "sweep", day(35)),
            ("entered", "realtime", day(80)),
            ("entered", "sweep", day(175)),
            ("exited", "realtime", day(200)),
        ]


def test_first_evaluation_after_install_gives_reason_initial(
    runtime: Runtime, settings: Settings
) -> None:
    shop_id = installed(runtime, settings, SHOP, day(0))
    with runtime.sessions() as session:
        # History that arrived before the first evaluation (e.g. a backfill): no hook ran.
        from plugin.shops.models import Shop

        shop = session.get(Shop, shop_id)
        assert shop is not None
        for n, order_id in enumerate(("1", "2", "3")):
            payload = order_payload(order_id, customer="9", total="10.00", updated_at=day(n))
            apply_payload(session, shop, "orders/create", payload, settings=settings, now=day(n))
    sweep_shop(runtime, shop_id, day(5))

    with runtime.sessions() as session:
        nine = customer_id(session, shop_id, "9")
        regular = segment_id(session, shop_id, "regular")
        new = segment_id(session, shop_id, "new_customers")
        assert stays(session, regular, nine) == [(day(5), None, INITIAL, None)]
        assert stays(session, new, nine) == [(day(5), None, INITIAL, None)]
        assert {reason for *_, reason, _at in events(session, shop_id)} == {INITIAL}
        before = session.scalar(select(func.count()).select_from(SegmentEvent))

    # The rules settled: a later sweep that changes nothing writes nothing.
    sweep_shop(runtime, shop_id, day(6))
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SegmentEvent)) == before
