"""Metrics equal hand-computed values on a scripted history of one customer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.profiles.customer_tags import present_tags
from plugin.profiles.customers import find_customer
from plugin.profiles.metrics import refresh_abandonment
from plugin.profiles.models import Customer, Order, Tombstone
from plugin.profiles.queries import product_types_bought, vendors_bought
from plugin.profiles.tombstones import tombstone_key
from plugin.shops.models import Shop, ShopSetting
from tests.support.profiles import (
    NOW,
    checkout_payload,
    customer_payload,
    line_item,
    order_payload,
    product_payload,
    refund_payload,
)

Apply = Callable[..., list[Any]]
A, B = "100", "200"  # B is merged into A at the end


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def profile(session: Session, shop: Shop, platform_id: str = A) -> Customer:
    session.expire_all()
    found = find_customer(session, shop.id, platform_id)
    assert found is not None
    return found


def order(order_id: str, customer: str | None, total: str, day: str, **kw: Any) -> dict[str, Any]:
    when = f"{day}T10:00:00Z"
    return order_payload(order_id, customer=customer, total=total, updated_at=when, **kw)


@pytest.fixture
def links_guests_by_email(session: Session, shop: Shop) -> None:
    session.add(
        ShopSetting(shop_id=shop.id, key="link_guest_orders_by_email", value={"value": True})
    )
    session.commit()


def test_scripted_history_gives_hand_computed_metrics(
    apply: Apply, session: Session, shop: Shop, links_guests_by_email: None
) -> None:
    apply(
        "products/create",
        product_payload(
            "1", product_type="Shoes", vendor="Nike", updated_at="2025-12-01T00:00:00Z"
        ),
    )
    apply(
        "products/create",
        product_payload(
            "2", product_type="Socks", vendor="Acme", updated_at="2025-12-01T00:00:00Z"
        ),
    )

    # Three real orders: web 100.00, POS 50.00 with a code, web 80.00 later refunded 20.00.
    apply("orders/create", order("1", A, "100.00", "2026-01-01", lines=[line_item("1", "100.00")]))
    pos_lines = [line_item("2", "27.50", quantity=2, discount="5.00")]
    apply(
        "orders/create",
        order("2", A, "50.00", "2026-01-11", lines=pos_lines, source_name="pos", discounts="5.00",
              discount_codes=[{"code": "TEN", "amount": "5.00", "type": "fixed_amount"}]),
    )  # fmt: skip
    apply("orders/create", order("3", A, "80.00", "2026-01-21", lines=[line_item("1", "80.00")]))
    apply("refunds/create", refund_payload("31", "3", "20.00", "2026-01-25T00:00:00Z"))
    # A cancelled order and a test order: no revenue.
    apply(
        "orders/create", order("4", A, "70.00", "2026-01-30", cancelled_at="2026-01-30T12:00:00Z")
    )
    apply("orders/create", order("5", A, "999.00", "2026-02-02", test=True))
    after_orders = profile(session, shop)
    assert (after_orders.orders_count, after_orders.total_spent_minor) == (
        3,
        100_00 + 50_00 + 60_00,
    )

    # A guest order with A's email, linked once A's verified email is known.
    apply("orders/create", order("6", None, "25.00", "2026-02-01", email="Ann@Example.com"))
    assert profile(session, shop).orders_count == 3
    apply(
        "customers/update",
        customer_payload(A, updated_at="2026-02-05T00:00:00Z", email="ann@example.com"),
    )
    assert profile(session, shop).orders_count == 4

    # Checkouts at NOW = 2026-06-01 12:00 UTC, abandoned after 10 idle hours (the default):
    # k1 idle 48 h (abandoned); k2 idle 36 h (abandoned, then completed by order 7);
    # k3 idle 4 h (not yet).
    apply(
        "checkouts/create",
        checkout_payload("k1", customer=A, total="30.00", updated_at="2026-05-30T12:00:00Z"),
    )
    apply(
        "checkouts/create",
        checkout_payload("k2", customer=A, total="40.00", updated_at="2026-05-31T00:00:00Z"),
    )
    apply(
        "checkouts/create",
        checkout_payload("k3", customer=A, total="15.00", updated_at="2026-06-01T08:00:00Z"),
    )
    before = profile(session, shop)
    assert (before.abandoned_checkouts_count, before.last_abandoned_at) == (
        2,
        utc("2026-05-31T00:00:00"),
    )
    o7 = order_payload(
        "7", customer=A, total="40.00", updated_at="2026-05-31T01:00:00Z", checkout_token="k2"
    )
    apply("orders/create", o7)
    after = profile(session, shop)
    assert (after.abandoned_checkouts_count, after.last_abandoned_at) == (
        1,
        utc("2026-05-30T12:00:00"),
    )

    # B's order and tag move to A by a completed merge.
    apply("orders/create", order("8", B, "60.00", "2026-03-01", lines=[line_item("1", "60.00")]))
    apply(
        "customer.tags_added",
        {
            "customerId": f"gid://shopify/Customer/{B}",
            "tags": ["VIP"],
            "occurredAt": "2026-03-02T00:00:00Z",
        },
    )
    assert profile(session, shop, B).orders_count == 1
    merge = {
        "admin_graphql_api_customer_kept_id": f"gid://shopify/Customer/{A}",
        "admin_graphql_api_customer_deleted_id": f"gid://shopify/Customer/{B}",
        "admin_graphql_api_job_id": None,
        "status": "completed",
        "errors": [],
    }
    apply("customers/merge", merge)

    # Counted: 1 (100.00), 2 POS (50.00), 3 (80.00 - 20.00), 6 guest (25.00), 7 (40.00),
    # 8 merged (60.00) = 335.00 over 6 orders; 4 cancelled and 5 test do not count.
    final = profile(session, shop)
    assert final.orders_count == 6
    assert final.total_spent_minor == 335_00
    assert final.avg_order_value_minor == 5583  # 33500 / 6 = 5583.33
    assert final.first_order_at == utc("2026-01-01T10:00:00")
    assert final.last_order_at == utc("2026-05-31T01:00:00")
    # 2026-01-01 10:00 → 2026-05-31 01:00 is 149.625 days, over 5 gaps
    assert final.avg_days_between_orders == pytest.approx(29.925)
    assert final.discount_order_share == pytest.approx(1 / 6)  # only the POS order
    assert final.abandoned_checkouts_count == 1
    assert final.metrics_updated_at == NOW

    session.expire_all()
    assert find_customer(session, shop.id, B) is None
    stone = session.get(Tombstone, (shop.id, "customer", tombstone_key(shop.id, B)))
    assert stone is not None and stone.reason == "merged"
    owners = {o.platform_id: o.customer_platform_id for o in session.scalars(select(Order))}
    assert owners == {str(i): A for i in range(1, 9)}
    assert present_tags(session, shop.id, final.id) == ["VIP"]
    # purchases: shoes in orders 1, 3, 8; two socks in the POS order; the rest untyped
    assert product_types_bought(session, shop.id, final.id) == [
        {"value": "shoes", "orders": 3, "quantity": 3},
        {"value": "socks", "orders": 1, "quantity": 2},
    ]
    assert vendors_bought(session, shop.id, final.id) == [
        {"value": "nike", "orders": 3, "quantity": 3},
        {"value": "acme", "orders": 1, "quantity": 2},
    ]


def test_guest_order_stays_a_guest_unless_the_shop_links_by_email(
    apply: Apply, session: Session, shop: Shop
) -> None:
    apply("orders/create", order("6", None, "25.00", "2026-02-01", email="ann@example.com"))
    apply(
        "customers/update",
        customer_payload(A, updated_at="2026-02-05T00:00:00Z", email="ann@example.com"),
    )
    assert profile(session, shop).orders_count == 0


def test_unverified_email_does_not_link_a_guest(
    apply: Apply, session: Session, shop: Shop, links_guests_by_email: None
) -> None:
    apply("orders/create", order("6", None, "25.00", "2026-02-01", email="ann@example.com"))
    unverified = customer_payload(
        A, updated_at="2026-02-05T00:00:00Z", email="ann@example.com", verified_email=False
    )
    apply("customers/update", unverified)
    assert profile(session, shop).orders_count == 0


def test_a_guest_order_after_the_customer_is_linked_at_once(
    apply: Apply, session: Session, shop: Shop, links_guests_by_email: None
) -> None:
    apply(
        "customers/update",
        customer_payload(A, updated_at="2026-02-05T00:00:00Z", email="ann@example.com"),
    )
    apply("orders/create", order("6", None, "25.00", "2026-02-01", email="ANN@example.com"))
    assert profile(session, shop).total_spent_minor == 2500


def test_abandonment_follows_the_shop_setting(apply: Apply, session: Session, shop: Shop) -> None:
    session.add(ShopSetting(shop_id=shop.id, key="abandoned_after_hours", value={"value": 1}))
    session.commit()
    apply(
        "checkouts/create",
        checkout_payload("k", customer=A, total="9.00", updated_at="2026-06-01T10:30:00Z"),
    )
    assert profile(session, shop).abandoned_checkouts_count == 1  # idle 1.5 h ≥ 1 h
    completed = checkout_payload(
        "k",
        customer=A,
        total="9.00",
        updated_at="2026-06-01T11:00:00Z",
        completed_at="2026-06-01T11:00:00Z",
    )
    apply("checkouts/update", completed)
    assert profile(session, shop).abandoned_checkouts_count == 0


def test_deleting_an_order_recomputes_its_customer(
    apply: Apply, session: Session, shop: Shop
) -> None:
    apply("orders/create", order("1", A, "10.00", "2026-01-01"))
    apply("orders/create", order("2", A, "30.00", "2026-01-05"))
    apply("orders/delete", {"id": 2})
    final = profile(session, shop)
    assert (final.orders_count, final.total_spent_minor, final.last_order_at) == (
        1,
        1000,
        utc("2026-01-01T10:00:00"),
    )
    assert final.avg_days_between_orders is None


def test_time_alone_makes_a_checkout_abandoned_on_the_next_sweep(
    apply: Apply, session: Session, shop: Shop
) -> None:
    apply(
        "checkouts/create",
        checkout_payload("k", customer=A, total="9.00", updated_at="2026-06-01T08:00:00Z"),
    )
    apply(
        "checkouts/create",
        checkout_payload("g", customer=None, total="9.00", updated_at="2026-06-01T08:00:00Z"),
    )
    assert profile(session, shop).abandoned_checkouts_count == 0  # idle 4 h at NOW
    assert refresh_abandonment(session, shop.id, NOW + timedelta(hours=5)) == 0  # idle 9 h
    assert refresh_abandonment(session, shop.id, NOW + timedelta(hours=6)) == 1  # idle 10 h
    session.commit()
    swept = profile(session, shop)
    assert (swept.abandoned_checkouts_count, swept.last_abandoned_at) == (
        1,
        utc("2026-06-01T08:00:00"),
    )
    assert refresh_abandonment(session, shop.id, NOW + timedelta(hours=7)) == 0  # up to date
