"""Two shops with the same platform ids never see or change each other's profile data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from plugin.profiles.customer_tags import present_tags
from plugin.profiles.customers import find_customer, match_guest_by_email
from plugin.profiles.models import Customer
from plugin.profiles.orders import checkouts_owners, find_order
from plugin.profiles.products import unknown_product_ids
from plugin.profiles.queries import customer_document, product_types_bought, vendors_bought
from plugin.profiles.tombstones import add_tombstone
from plugin.shops.models import Shop, ShopSetting
from tests.support.profiles import (
    checkout_payload,
    customer_payload,
    line_item,
    make_shop,
    order_payload,
    product_payload,
)

Apply = Callable[..., list[Any]]


def history(apply: Apply, shop: Shop, *, email: str, total: str, kind: str, tag: str) -> None:
    """The same platform ids in every shop, with shop-specific values."""
    when = "2026-02-01T00:00:00Z"
    apply("customers/update", customer_payload("7", updated_at=when, email=email), shop=shop)
    product = product_payload("42", product_type=kind, vendor=kind, updated_at=when)
    apply("products/create", product, shop=shop)
    lines = [line_item("42", total), line_item(f"9{len(kind)}", "0.00", id=2)]
    order = order_payload("1", customer="7", total=total, updated_at=when, lines=lines)
    apply("orders/create", order, shop=shop)
    tags = {"customerId": "gid://shopify/Customer/7", "tags": [tag], "occurredAt": when}
    apply("customer.tags_added", tags, shop=shop)
    checkout = checkout_payload("tok", customer="7", total=total, updated_at="2026-01-01T00:00:00Z")
    apply("checkouts/create", checkout, shop=shop)


@pytest.fixture
def shops(apply: Apply, session: Session, shop: Shop) -> tuple[Shop, Shop]:
    other = make_shop(session, "beta.myshopify.com")
    for s in (shop, other):
        session.add(
            ShopSetting(shop_id=s.id, key="link_guest_orders_by_email", value={"value": True})
        )
    session.commit()
    history(apply, shop, email="ann@alpha.example", total="10.00", kind="Shoes", tag="vip")
    history(apply, other, email="bob@beta.example", total="99.00", kind="Hats", tag="gold")
    return shop, other


def customer(session: Session, shop: Shop) -> Customer:
    session.expire_all()
    found = find_customer(session, shop.id, "7")
    assert found is not None
    return found


def test_store_functions_answer_per_shop(session: Session, shops: tuple[Shop, Shop]) -> None:
    alpha, beta = shops
    a, b = customer(session, alpha), customer(session, beta)
    assert a.id != b.id
    assert (a.email, a.total_spent_minor) == ("ann@alpha.example", 1000)
    assert (b.email, b.total_spent_minor) == ("bob@beta.example", 9900)
    assert present_tags(session, alpha.id, a.id) == ["vip"]
    assert present_tags(session, beta.id, b.id) == ["gold"]
    assert present_tags(session, beta.id, a.id) == []  # a foreign customer id finds nothing
    assert [t["value"] for t in product_types_bought(session, alpha.id, a.id)] == ["shoes"]
    assert [t["value"] for t in vendors_bought(session, beta.id, b.id)] == ["hats"]
    assert product_types_bought(session, alpha.id, b.id) == []
    assert unknown_product_ids(session, alpha.id, 10) == ["95"]
    assert unknown_product_ids(session, beta.id, 10) == ["94"]
    order_a, order_b = find_order(session, alpha.id, "1"), find_order(session, beta.id, "1")
    assert order_a is not None and order_b is not None
    assert (order_a.total_minor, order_b.total_minor) == (1000, 9900)
    assert checkouts_owners(session, alpha.id, ["tok"]) == {"tok": {a.id}}
    assert checkouts_owners(session, beta.id, ["tok"]) == {"tok": {b.id}}
    assert match_guest_by_email(session, beta.id, "ann@alpha.example") is None
    assert match_guest_by_email(session, alpha.id, "ann@alpha.example") is not None


def test_documents_hold_only_their_own_shop(session: Session, shops: tuple[Shop, Shop]) -> None:
    alpha, beta = shops
    doc_a = customer_document(session, alpha, "7")
    doc_b = customer_document(session, beta, "7")
    assert doc_a is not None and doc_b is not None
    text_a, text_b = repr(doc_a), repr(doc_b)
    for foreign in ("bob@beta.example", "gold", "hats", "99.00"):
        assert foreign not in text_a
    for foreign in ("ann@alpha.example", "vip", "shoes", "10.00"):
        assert foreign not in text_b
    assert doc_a["metrics"]["abandoned_checkouts_count"] == 1
    assert [o["total"] for o in doc_b["orders"]] == ["99.00"]


def test_deletes_tombstones_and_merges_stay_in_their_shop(
    apply: Apply, session: Session, shops: tuple[Shop, Shop]
) -> None:
    alpha, beta = shops
    apply("orders/delete", {"id": 1}, shop=beta)
    apply("checkouts/delete", {"id": 5, "cart_token": "cart-tok"}, shop=beta)
    merge = {
        "admin_graphql_api_customer_kept_id": "gid://shopify/Customer/8",
        "admin_graphql_api_customer_deleted_id": "gid://shopify/Customer/7",
        "status": "completed",
    }
    apply("customers/merge", merge, shop=beta)
    add_tombstone(session, beta.id, "customer", "8", "redacted", None)
    session.commit()
    later = order_payload("1", customer="7", total="12.00", updated_at="2026-03-01T00:00:00Z")
    apply("orders/updated", later, shop=alpha)
    apply("customers/update", customer_payload("8", updated_at="2026-03-01T00:00:00Z"), shop=alpha)

    a = customer(session, alpha)
    assert (a.orders_count, a.total_spent_minor, a.abandoned_checkouts_count) == (1, 1200, 1)
    assert present_tags(session, alpha.id, a.id) == ["vip"]
    assert find_customer(session, alpha.id, "8") is not None  # redacted only in beta
    assert find_customer(session, beta.id, "7") is None
    assert find_order(session, beta.id, "1") is None
