"""Out-of-order, repeated and late deliveries converge on the right profile."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from plugin.profiles.customers import find_customer
from plugin.profiles.models import (
    Checkout,
    Customer,
    CustomerTag,
    Order,
    OrderLine,
    Product,
    Purchase,
    Refund,
    Tombstone,
)
from plugin.profiles.products import unknown_product_ids
from plugin.profiles.tombstones import add_tombstone
from plugin.shops.models import Shop
from tests.support.profiles import (
    checkout_payload,
    customer_payload,
    line_item,
    order_payload,
    product_payload,
    refund_payload,
)

Apply = Callable[..., list[Any]]
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every profile row, without surrogate keys and bookkeeping times."""
    session.expire_all()
    out = {}
    for model in (Customer, CustomerTag, Order, OrderLine, Refund, Checkout, Purchase, Tombstone):
        columns = [
            c.key for c in inspect(model).columns if c.key not in {"id", "created_at", "updated_at"}
        ]
        rows = session.execute(select(*(getattr(model, c) for c in columns))).all()
        out[model.__tablename__] = sorted(tuple(map(repr, r)) for r in rows)
    return out


def customer(session: Session, shop: Shop, platform_id: str) -> Customer:
    session.expire_all()
    found = find_customer(session, shop.id, platform_id)
    assert found is not None
    return found


def only_order(session: Session) -> Order:
    session.expire_all()
    (order,) = session.scalars(select(Order)).all()
    return order


def test_orders_updated_before_orders_create_keeps_the_newer_state(
    apply: Apply, session: Session, shop: Shop
) -> None:
    newer = order_payload("1001", customer="7", total="80.00", updated_at=at(2))
    newer["financial_status"] = "partially_refunded"
    older = order_payload("1001", customer="7", total="100.00", updated_at=at(1))
    apply("orders/updated", newer)
    apply("orders/create", older)
    order = only_order(session)
    assert (order.total_minor, order.financial_status) == (8000, "partially_refunded")
    profile = customer(session, shop, "7")
    assert (profile.orders_count, profile.total_spent_minor) == (1, 8000)


def test_late_orders_create_after_orders_delete_does_not_resurrect(
    apply: Apply, session: Session, shop: Shop
) -> None:
    apply("orders/create", order_payload("1001", customer="7", total="50.00", updated_at=at(1)))
    apply("orders/delete", {"id": 1001}, triggered_at=at(3))
    apply("orders/updated", order_payload("1001", customer="7", total="50.00", updated_at=at(2)))
    apply("orders/create", order_payload("1001", customer="7", total="50.00", updated_at=at(4)))
    session.expire_all()
    assert session.scalars(select(Order)).all() == []
    assert session.scalars(select(OrderLine)).all() == []
    profile = customer(session, shop, "7")
    assert (profile.orders_count, profile.total_spent_minor, profile.last_order_at) == (0, 0, None)


def test_the_same_delivery_twice_leaves_the_same_state(
    apply: Apply, session: Session, shop: Shop
) -> None:
    deliveries = [
        ("orders/create", order_payload("1", customer="7", total="30.00", updated_at=at(1))),
        ("refunds/create", refund_payload("9", "1", "5.00", at(2))),
        ("customer.tags_added", {"customerId": "gid://shopify/Customer/7", "tags": ["vip"]}),
        ("checkouts/create", checkout_payload("tok", customer="7", total="9.00", updated_at=at(1))),
    ]
    for i, (topic, payload) in enumerate(deliveries):
        apply(topic, payload, webhook_id=f"wh-{i}")
    first = snapshot(session)
    for i, (topic, payload) in enumerate(deliveries):
        apply(topic, payload, webhook_id=f"wh-{i}")
    assert snapshot(session) == first
    assert customer(session, shop, "7").total_spent_minor == 2500


def test_partial_customer_in_an_order_fills_gaps_but_never_overwrites(
    apply: Apply, session: Session, shop: Shop
) -> None:
    apply(
        "customers/update",
        customer_payload("7", updated_at=at(1), email="ann@example.com", first_name="Ann"),
    )
    order = order_payload(
        "1", customer="7", total="10.00", updated_at=at(5), email="old@example.com"
    )
    order["customer"].update(first_name="Bob", phone="+48123456789")
    apply("orders/create", order)
    profile = customer(session, shop, "7")
    assert (profile.email, profile.first_name) == ("ann@example.com", "Ann")
    assert profile.phone == "+48123456789"  # was null: a stub fill
    assert profile.locale == "en"  # customer payloads carry no locale


def test_stub_from_an_order_is_overwritten_by_the_customer_topic(
    apply: Apply, session: Session, shop: Shop
) -> None:
    apply("orders/create", order_payload("1", customer="7", total="10.00", updated_at=at(5)))
    assert customer(session, shop, "7").email == "c7@example.com"
    apply("customers/create", customer_payload("7", updated_at=at(1), email="new@example.com"))
    profile = customer(session, shop, "7")
    assert (profile.email, profile.email_cf, profile.orders_count) == (
        "new@example.com",
        "new@example.com",
        1,
    )


def test_older_customer_update_does_not_overwrite_a_newer_one(
    apply: Apply, session: Session, shop: Shop
) -> None:
    apply("customers/update", customer_payload("7", updated_at=at(2), email="new@example.com"))
    apply("customers/update", customer_payload("7", updated_at=at(1), email="old@example.com"))
    assert customer(session, shop, "7").email == "new@example.com"


def tags(session: Session, shop: Shop, platform_id: str) -> set[str]:
    c = customer(session, shop, platform_id)
    return set(
        session.scalars(
            select(CustomerTag.tag_cf).where(
                CustomerTag.customer_id == c.id, CustomerTag.present.is_(True)
            )
        )
    )


def tag_event(tags: list[str], hours: float) -> dict[str, Any]:
    return {
        "customerId": "gid://shopify/Customer/7",
        "tags": tags,
        "occurredAt": at(hours).isoformat(),
    }


def test_late_tags_added_cannot_undo_a_newer_removal(
    apply: Apply, session: Session, shop: Shop
) -> None:
    apply("customer.tags_removed", tag_event(["VIP"], 2))
    apply("customer.tags_added", tag_event(["vip", "newsletter"], 1))
    assert tags(session, shop, "7") == {"newsletter"}
    apply("customer.tags_added", tag_event(["Vip"], 3))
    apply("customer.tags_removed", tag_event(["newsletter"], 2.5))
    assert tags(session, shop, "7") == {"vip"}


def test_full_tag_list_of_an_old_payload_removes_unlisted_tags_by_version(
    apply: Apply, session: Session, shop: Shop
) -> None:
    apply("customer.tags_added", tag_event(["a", "b"], 1))
    apply("customer.tags_added", tag_event(["late"], 5))
    old_shape = customer_payload("7", updated_at=at(2), tags="a, c")
    apply("customers/update", old_shape, api_version="2024-10")
    assert tags(session, shop, "7") == {"a", "c", "late"}


def consent(state: str, hours: float | None) -> dict[str, Any]:
    return {
        "customer_id": 7,
        "email_address": "c7@example.com",
        "email_marketing_consent": {
            "state": state,
            "opt_in_level": "single_opt_in",
            "consent_updated_at": at(hours).isoformat() if hours is not None else None,
        },
    }


def test_consent_keeps_the_newest_state(apply: Apply, session: Session, shop: Shop) -> None:
    topic = "customers_email_marketing_consent/update"
    apply(topic, consent("subscribed", 2))
    apply(topic, consent("unsubscribed", 1))
    profile = customer(session, shop, "7")
    assert (profile.email_marketing_state, profile.email_consent_updated_at) == (
        "subscribed",
        at(2),
    )
    old_shape = customer_payload("7", updated_at=at(3))
    old_shape["email_marketing_consent"] = {"state": "unsubscribed", "opt_in_level": None}
    apply("customers/update", old_shape, api_version="2024-10")
    assert customer(session, shop, "7").email_marketing_state == "unsubscribed"


def test_purchasing_summary_is_versioned(apply: Apply, session: Session, shop: Shop) -> None:
    def summary(count: int, hours: float) -> dict[str, Any]:
        return {
            "customerId": "gid://shopify/Customer/7",
            "numberOfOrders": count,
            "amountSpent": {"amount": f"{count * 10}.00", "currencyCode": "USD"},
            "lastOrderId": None,
            "occurredAt": at(hours).isoformat(),
        }

    apply("customers/purchasing_summary", summary(3, 2))
    apply("customers/purchasing_summary", summary(2, 1))
    profile = customer(session, shop, "7")
    assert (profile.reported_orders_count, profile.reported_amount_spent_minor) == (3, 3000)


def test_deleted_customer_keeps_orders_unlinked_and_stays_deleted(
    apply: Apply, session: Session, shop: Shop
) -> None:
    apply("orders/create", order_payload("1", customer="7", total="10.00", updated_at=at(1)))
    apply("customer.tags_added", tag_event(["vip"], 1))
    apply("customers/delete", {"id": 7}, triggered_at=at(2))
    apply("customers/update", customer_payload("7", updated_at=at(3), email="x@example.com"))
    apply("orders/create", order_payload("2", customer="7", total="20.00", updated_at=at(4)))
    session.expire_all()
    assert find_customer(session, shop.id, "7") is None
    orders = session.scalars(select(Order).order_by(Order.platform_id)).all()
    assert [(o.platform_id, o.customer_id, o.customer_platform_id) for o in orders] == [
        ("1", None, "7"),
        ("2", None, "7"),
    ]
    assert session.scalars(select(CustomerTag)).all() == []


def test_redacted_customer_is_never_recreated_and_later_orders_are_anonymous(
    apply: Apply, session: Session, shop: Shop
) -> None:
    add_tombstone(session, shop.id, "customer", "7", "redacted", None)
    session.commit()
    apply("customers/update", customer_payload("7", updated_at=at(1), email="x@example.com"))
    order = order_payload("1", customer="7", total="10.00", updated_at=at(1), checkout_token="t")
    apply("orders/create", order)
    apply("checkouts/create", checkout_payload("t", customer="7", total="1.00", updated_at=at(1)))
    session.expire_all()
    assert session.scalars(select(Customer)).all() == []
    assert session.scalars(select(Checkout)).all() == []
    order = only_order(session)
    assert (order.customer_id, order.customer_platform_id, order.email, order.anonymized) == (
        None,
        None,
        None,
        True,
    )
    assert order.total_minor == 1000  # the shop's revenue stays true
    assert order.checkout_token is None  # nothing leads back to their checkout


def test_deleted_checkout_is_not_resurrected_by_a_late_update(
    apply: Apply, session: Session, shop: Shop
) -> None:
    apply("checkouts/create", checkout_payload("t1", customer="7", total="9.00", updated_at=at(1)))
    # 2026-04: checkouts/delete carries only id and cart_token
    apply("checkouts/delete", {"id": 555, "cart_token": "cart-t1"}, triggered_at=at(3))
    apply("checkouts/update", checkout_payload("t1", customer="7", total="9.00", updated_at=at(2)))
    apply("checkouts/update", checkout_payload("t1", customer="7", total="9.00", updated_at=at(5)))
    session.expire_all()
    assert session.scalars(select(Checkout)).all() == []
    fresh = checkout_payload("t2", customer="7", total="4.00", updated_at=at(6))
    fresh["cart_token"] = "cart-t1"  # the same cart starts a new checkout later
    apply("checkouts/create", fresh)
    assert [c.token for c in session.scalars(select(Checkout))] == ["t2"]


def test_delete_before_create_blocks_the_late_create_by_cart_token(
    apply: Apply, session: Session, shop: Shop
) -> None:
    apply("checkouts/delete", {"id": 555, "cart_token": "cart-t1"}, triggered_at=at(3))
    apply("checkouts/create", checkout_payload("t1", customer="7", total="9.00", updated_at=at(1)))
    assert session.scalars(select(Checkout)).all() == []


def test_refund_counts_once_whether_it_arrives_before_or_after_the_order_lists_it(
    apply: Apply, session: Session, shop: Shop
) -> None:
    apply("orders/create", order_payload("1", customer="7", total="100.00", updated_at=at(1)))
    apply("refunds/create", refund_payload("50", "1", "30.00", at(2)))
    assert customer(session, shop, "7").total_spent_minor == 7000
    listed = order_payload("1", customer="7", total="70.00", updated_at=at(3))
    listed["refunds"] = [{"id": 50, "admin_graphql_api_id": "gid://shopify/Refund/50"}]
    apply("orders/updated", listed)
    assert customer(session, shop, "7").total_spent_minor == 7000
    apply("refunds/create", refund_payload("50", "1", "30.00", at(2)))  # redelivered
    assert customer(session, shop, "7").total_spent_minor == 7000


def test_refund_before_its_order_counts_when_the_order_arrives(
    apply: Apply, session: Session, shop: Shop
) -> None:
    apply("refunds/create", refund_payload("50", "1", "30.00", at(2)))
    apply("orders/create", order_payload("1", customer="7", total="100.00", updated_at=at(1)))
    assert customer(session, shop, "7").total_spent_minor == 7000


def test_product_arriving_after_the_order_types_its_purchases(
    apply: Apply, session: Session, shop: Shop
) -> None:
    lines = [line_item("42", "10.00", vendor="ACME", id=1), line_item("43", "5.00", id=2)]
    apply(
        "orders/create",
        order_payload("1", customer="7", total="15.00", updated_at=at(1), lines=lines),
    )
    assert unknown_product_ids(session, shop.id, 10) == ["42", "43"]
    product = product_payload(
        "42",
        product_type="Running Shoes",
        vendor="Acme Co",
        updated_at=at(2),
        tags="Eco, eco, SALE",
    )
    apply("products/create", product)
    session.expire_all()
    assert unknown_product_ids(session, shop.id, 10) == ["43"]
    stored = session.scalar(select(Product))
    assert (stored.product_type_cf, stored.vendor_cf) == ("running shoes", "acme co")
    purchases = {p.product_platform_id: p for p in session.scalars(select(Purchase))}
    assert purchases["42"].product_type_cf == "running shoes"
    assert purchases["42"].vendor_cf == "acme co"
    assert purchases["43"].product_type_cf is None


def test_merge_keeps_the_newer_state_of_each_tag(
    apply: Apply, session: Session, shop: Shop
) -> None:
    def tagged(customer_id: str, topic: str, tag: str, hours: float) -> None:
        event = {"customerId": f"gid://shopify/Customer/{customer_id}", "tags": [tag]}
        apply(topic, {**event, "occurredAt": at(hours).isoformat()})

    tagged("7", "customer.tags_added", "vip", 1)
    tagged("7", "customer.tags_removed", "gold", 3)
    tagged("8", "customer.tags_added", "gold", 2)  # older than 7's removal
    tagged("8", "customer.tags_added", "new", 2)
    tagged("8", "customer.tags_removed", "vip", 2)  # newer than 7's addition
    merge = {
        "admin_graphql_api_customer_kept_id": "gid://shopify/Customer/7",
        "admin_graphql_api_customer_deleted_id": "gid://shopify/Customer/8",
        "status": "completed",
    }
    apply("customers/merge", merge)
    apply("customers/merge", merge)  # redelivered: nothing more moves
    assert tags(session, shop, "7") == {"new"}
    session.expire_all()
    assert find_customer(session, shop.id, "8") is None
