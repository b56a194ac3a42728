"""A sweep in batches reads only each batch's rows and gives exactly what one pass gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from plugin.profiles.models import Customer
from plugin.runtime import Runtime
from plugin.segments.context import CompileContext
from plugin.segments.evaluator import evaluate_shop
from plugin.segments.models import SegmentState
from plugin.segments.services import create_segment
from plugin.settings import Settings
from plugin.shops.models import Shop
from tests.integration.test_segment_eval_support import installed
from tests.support.profiles import (
    apply_payload,
    checkout_payload,
    line_item,
    order_payload,
    product_payload,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULES = {
    "Shoe buyers": "products_purchased MATCHES (product_type = 'Shoes')",
    "Two orders": "orders_placed MATCHES (count >= 2)",
    "VIP tagged": "customer_tags CONTAINS 'vip'",
    "Abandoners": "abandoned_checkouts MATCHES (count >= 1)",
    "Not shoe buyers": "products_purchased NOT MATCHES (product_type = 'Shoes')",
}


def store(runtime: Runtime, settings: Settings, domain: str) -> int:
    """Seven customers with purchases, tags and checkouts spread over every batch."""
    shop_id = installed(runtime, settings, domain, T0 - timedelta(days=30))
    with runtime.sessions() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None

        def apply(topic: str, payload: dict, when: datetime) -> None:
            apply_payload(session, shop, topic, payload, settings=settings, now=when)

        when = T0 - timedelta(days=5)
        apply("products/create", product_payload("1", product_type="Shoes", vendor="N",
                                                 updated_at=when), when)  # fmt: skip
        for n in range(1, 8):
            c = str(n)
            lines = [line_item("1" if n % 2 else None, "10.00")]
            for k in range(n % 3 + 1):
                order = order_payload(f"{n}{k}", customer=c, total="10.00", updated_at=when,
                                      lines=lines)  # fmt: skip
                apply("orders/create", order, when)
            if n % 3 == 0:
                tags = {"customerId": f"gid://shopify/Customer/{c}", "tags": ["VIP"],
                        "occurredAt": when.isoformat()}  # fmt: skip
                apply("customer.tags_added", tags, when)
            if n in (2, 7):
                apply("checkouts/create", checkout_payload(f"k{n}", customer=c, total="5.00",
                                                           updated_at=when), when)  # fmt: skip
        for name, query in RULES.items():
            create_segment(session, shop_id, name, query, now=T0)
        session.commit()
    return shop_id


def masks(runtime: Runtime, shop_id: int) -> dict[str, int]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(Customer.platform_id, SegmentState.mask)
            .join(SegmentState, SegmentState.customer_id == Customer.id)
            .where(SegmentState.shop_id == shop_id)
        )
        return {r.platform_id: r.mask for r in rows}


def test_batched_sweep_equals_one_pass_for_subquery_rules(
    runtime: Runtime, settings: Settings
) -> None:
    one = store(runtime, settings, "one-pass.myshopify.com")
    many = store(runtime, settings, "batched.myshopify.com")
    evaluate_shop(runtime, one, T0)
    result = evaluate_shop(runtime, many, T0, batch_size=2)
    assert result.batches == 4
    single, batched = masks(runtime, one), masks(runtime, many)
    assert len(single) == 7 and batched == single
    assert len(set(single.values())) > 2  # the rules tell customers apart


def test_a_batch_range_reaches_the_subqueries() -> None:
    ctx = CompileContext(shop_id=1, now=T0, id_range=(10, 20))
    sql = str(ctx.scoped(select(Customer.id), Customer.id).compile())
    assert "customers.id > :id_1" in sql and "customers.id <= :id_2" in sql
    open_ended = CompileContext(shop_id=1, now=T0, id_range=(10, None))
    sql = str(open_ended.scoped(select(Customer.id), Customer.id).compile())
    assert "customers.id > :id_1" in sql and "<=" not in sql
