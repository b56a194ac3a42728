"""The import's set-based metrics (plugin.backfill.shop_metrics) equal the per-event
path's (plugin.profiles.metrics) on the same rows, both databases: counted and
uncounted orders, refunds, discounts, abandoned and pending checkouts, lines without a
known product whose vendor is casefolded as Python does (not SQL's lower())."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update

from plugin.backfill.shop_metrics import METRICS, recompute_range
from plugin.profiles.metrics import recompute_metrics
from plugin.profiles.models import Checkout, Customer, Order, OrderLine, Product, Purchase
from tests.support.profiles import make_shop

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def build(session, shop_id: int) -> list[int]:
    session.add(Product(shop_id=shop_id, platform_id="1", product_type_cf="tea", vendor_cf="acme"))
    customers = [Customer(shop_id=shop_id, platform_id=str(n)) for n in range(1, 7)]
    session.add_all(customers)
    session.flush()
    ids = [c.id for c in customers]
    plans = [  # (customer index, days ago, total, test, cancelled, discount, vendor)
        (0, 10, 1000, False, False, False, "ŁÓDŹ Straße"),
        (0, 400, 2500, False, False, True, None),
        (0, 30, 999, True, False, False, "Acme"),
        (1, 5, 333, False, False, False, "  ΣΊΣΥΦΟΣ  "),
        (1, 6, 334, False, True, False, "x"),
        (2, 700, 50, False, False, False, "Ǆemal"),
        (2, 1, 7, False, False, True, None),
    ]
    for n, (who, days, total, test, cancelled, discount, vendor) in enumerate(plans):
        at = NOW - timedelta(days=days, hours=n)
        order = Order(
            shop_id=shop_id,
            platform_id=f"o{n}",
            customer_id=ids[who],
            total_minor=total,
            net_total_minor=total - (100 if n == 0 else 0),
            test=test,
            cancelled_at=at if cancelled else None,
            has_discount=discount,
            ordered_at=at,
        )
        session.add(order)
        session.flush()
        for k, product in enumerate(("1", "404")):
            session.add(
                OrderLine(
                    shop_id=shop_id,
                    order_id=order.id,
                    platform_id=f"l{n}{k}",
                    product_platform_id=product,
                    vendor=vendor,
                    quantity=k + 1,
                    price_minor=total // 2,
                    discount_minor=k,
                )
            )
    for n, (who, hours) in enumerate(((3, 200), (3, 1), (4, 300), (0, 2))):
        at = NOW - timedelta(hours=hours)
        session.add(
            Checkout(
                shop_id=shop_id,
                token=f"t{n}",
                customer_id=ids[who],
                platform_created_at=at,
                platform_updated_at=at,
            )
        )
    session.flush()
    return ids


def snapshot(session, shop_id: int) -> tuple:
    session.expire_all()
    customers = session.execute(
        select(Customer.platform_id, *(getattr(Customer, c) for c in METRICS))
        .where(Customer.shop_id == shop_id)
        .order_by(Customer.platform_id)
    ).all()
    purchases = session.execute(
        select(
            Purchase.customer_id,
            Purchase.order_id,
            Purchase.ordered_at,
            Purchase.product_platform_id,
            Purchase.product_type_cf,
            Purchase.vendor_cf,
            Purchase.quantity,
            Purchase.amount_minor,
        ).where(Purchase.shop_id == shop_id)
    ).all()
    return [tuple(r) for r in customers], sorted(tuple(r) for r in purchases)


def test_set_based_metrics_equal_the_per_event_ones(session) -> None:
    shop = make_shop(session)
    ids = build(session, shop.id)
    recompute_metrics(session, shop.id, ids, NOW)
    session.flush()
    expected = snapshot(session, shop.id)
    assert any(p[5] == "łódź strasse" for p in expected[1])  # casefold, not lower()
    session.execute(delete(Purchase))
    session.execute(update(Customer).values(orders_count=99, first_order_at=None))

    recompute_range(session, shop.id, min(ids), max(ids), NOW)

    assert snapshot(session, shop.id) == expected
