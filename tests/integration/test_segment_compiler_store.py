"""A hand-built store for the compiler and Shopify compatibility tests, and a local
stand-in for the scalar field expressions (so these tests pin the compiler, not fields.py).

Shop timezone Europe/Warsaw (UTC+2 in summer), currency USD, clock NOW = 2026-06-01 12:00
UTC (14:00 local). Customers by platform id:
  1 Ann  PL, subscribed, tags VIP + Żabka; orders 2025-11-15 (80.00, product 501 qty 1),
         2026-03-01 (300.50, 502 qty 1), 2026-05-25 (120.00, 501 qty 2)
  2 Ben  US (New York City, NY), added 2026-05-31 23:30 UTC (June 1 local); tag wholesale;
         SMS consent subscribed; one order at
         2026-05-31 22:30 UTC = 00:30 June 1 local (20.00, 503 qty 5)
  3 Cy   DE, no orders, tag vip removed, a checkout abandoned 2026-05-30 08:00 UTC
  4 Dee  no country, no email; a test order and a cancelled order only
  5 Eve  PL, tag "x'; DROP TABLE customers; --"; one order 2025-06-01 (999.99, product 504
         that the shop never sent, line vendor Indie)
Products: 501 Shoes/Acme tags sale, Żółw, category aa-8-1; 502 Hats/acme tag premium,
category aa-2-17; 503 Żupan/Other, no category. Order 1002 came from app 580111, order
1004 from the POS app 129785 at location 7423.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from plugin.profiles.facts_models import CustomerCompany, StoreCredit, StoreCreditAccount
from plugin.profiles.models import Customer
from plugin.segments.compiler import compile_predicate
from plugin.segments.context import CompileContext
from plugin.segments.parser import parse_query
from plugin.settings import Settings
from plugin.shops.models import Shop
from tests.support.profiles import (
    NOW,
    apply_payload,
    checkout_payload,
    customer_payload,
    line_item,
    make_shop,
    order_payload,
    product_payload,
)

EVIL_TAG = "x'; DROP TABLE customers; --"

STAND_IN: dict[str, Callable[[], ColumnElement[Any]]] = {
    "amount_spent": lambda: Customer.total_spent_minor,
    "number_of_orders": lambda: Customer.orders_count,
    "first_order_date": lambda: Customer.first_order_at,
    "last_order_date": lambda: Customer.last_order_at,
    "customer_added_date": lambda: Customer.platform_created_at,
    "abandoned_checkout_date": lambda: Customer.last_abandoned_at,
    "email_subscription_status": lambda: func.lower(Customer.email_marketing_state),
    "sms_subscription_status": lambda: func.lower(Customer.sms_marketing_state),
    "customer_account_status": lambda: func.lower(Customer.state),
    "customer_language": lambda: Customer.locale,
    "average_order_value": lambda: Customer.avg_order_value_minor,
    "discount_order_share": lambda: Customer.discount_order_share,
}


def stand_in(name: str, _ctx: CompileContext) -> ColumnElement[Any]:
    return STAND_IN[name]()


def members(
    session: Session, shop: Shop, text: str, *, ids: list[int] | None = None, now: datetime = NOW
) -> set[str]:
    """Platform ids of the customers the query selects, through parse → compile → SQL."""
    ctx = CompileContext(shop.id, now, shop.timezone, customer_ids=ids, currency=shop.currency)
    predicate = compile_predicate(parse_query(text).ast, ctx, resolve=stand_in)
    stmt = select(Customer.platform_id).where(Customer.shop_id == shop.id, predicate)
    return set(session.scalars(stmt))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def build_store(session: Session, settings: Settings) -> Shop:
    shop = make_shop(session, "segments.myshopify.com")
    shop.timezone = "Europe/Warsaw"
    session.commit()

    def apply(topic: str, payload: dict[str, Any]) -> None:
        apply_payload(session, shop, topic, payload, settings=settings, now=NOW)

    _customers(apply)
    for pid, type_, vendor, tags, category in [
        ("501", "Shoes", "Acme", "sale, Żółw", "aa-8-1"),
        ("502", "Hats", "acme", "premium", "aa-2-17"),
        ("503", "Żupan", "Other", "", None),
    ]:
        when = at("2025-01-01")
        payload = product_payload(
            pid, product_type=type_, vendor=vendor, updated_at=when, tags=tags, category=category
        )
        apply("products/create", payload)
    _orders(apply)
    _companies(session, shop)
    apply(
        "checkouts/update",
        checkout_payload("tok-cy", customer="3", total="50.00", updated_at=at("2026-05-30T08:00")),
    )
    return shop


def _metafield(namespace: str, key: str, type_: str, value: Any) -> dict[str, Any]:
    return {"namespace": namespace, "key": key, "type": type_, "value": value}


# customers/* payloads carry the metafields of the namespaces the subscription names: a
# birthday in the next 30 days (1), yesterday (2) and today (3); Shopify's points example
METAFIELDS = {
    "1": [
        _metafield("facts", "birth_date", "date", "1990-06-15"),
        _metafield("custom", "points_balance", "number_integer", 150),
    ],
    "2": [_metafield("facts", "birth_date", "date", "1985-05-31")],
    "3": [
        _metafield("facts", "birth_date", "date", "1992-06-01"),
        _metafield("custom", "points_balance", "number_integer", "50"),
    ],
    "5": [
        _metafield("custom", "newsletter", "boolean", True),
        _metafield("custom", "interests", "list.single_line_text_field", '["Tea", "Coffee"]'),
        _metafield("custom", "notes", "json", '{"a": 1}'),
    ],
}


def _companies(session: Session, shop: Shop) -> None:
    """B2B companies come from the import only (no webhook): stored as it stores them."""
    ids = dict(
        session.execute(
            select(Customer.platform_id, Customer.id).where(Customer.shop_id == shop.id)
        ).all()
    )
    for customer, company in [("2", "4001"), ("2", "4002"), ("5", "4002")]:
        row = CustomerCompany(shop_id=shop.id, customer_id=ids[customer], company_id=company)
        session.add(row)
    # store credit, imported too: 150.00 USD with 50.00 expiring in 5 days (1), an empty
    # USD account whose only credit expired (2), 20.00 EUR never credited since (5)
    for customer, account, currency, balance in [
        ("1", "91", "USD", 15000),
        ("2", "92", "USD", 0),
        ("5", "95", "EUR", 2000),
    ]:
        owned = {"shop_id": shop.id, "customer_id": ids[customer], "account_id": account}
        session.add(
            StoreCreditAccount(**owned, currency=currency, exponent=2, balance_minor=balance)
        )
    for customer, account, credited, expires, remaining in [
        ("1", "91", "2026-05-20T10:00", "2026-06-06T10:00", 5000),
        ("1", "91", "2026-04-01T10:00", None, 10000),
        ("2", "92", "2026-03-01T10:00", "2026-04-01T10:00", 3000),
    ]:
        owned = {"shop_id": shop.id, "customer_id": ids[customer], "account_id": account}
        expiry = at(expires) if expires else None
        session.add(
            StoreCredit(
                **owned, credited_at=at(credited), expires_at=expiry, remaining_minor=remaining
            )
        )
    session.commit()


def _customers(apply: Callable[[str, dict[str, Any]], None]) -> None:
    people = [
        ("1", "ann@example.com", "2025-01-10T09:00", "PL"),
        ("2", "ben@example.com", "2026-05-31T23:30", "US"),
        ("3", "cy@example.com", "2024-06-01T09:00", "DE"),
        ("4", None, "2026-01-01T09:00", None),
        ("5", "eve@example.com", "2025-12-24T09:00", "PL"),
    ]
    for cid, email, created, country in people:
        payload = customer_payload(
            cid,
            updated_at=at(created),
            email=email,
            created_at=at(created).isoformat(),
            state="enabled",
        )
        if country is None:
            payload["default_address"] = None
        else:
            payload["default_address"]["country_code"] = country
        if cid == "2":  # Shopify's own customer_cities example: US-NY-NewYorkCity
            payload["default_address"].update(province_code="NY", city="New York City")
        payload["metafields"] = METAFIELDS.get(cid, [])
        apply("customers/create", payload)
    sms = {"state": "subscribed", "opt_in_level": None, "consent_updated_at": None}
    apply("customers_marketing_consent/update", {"id": 2, "sms_marketing_consent": sms})
    for cid, tags in [
        ("1", ["VIP", "Żabka"]),
        ("2", ["wholesale"]),
        ("3", ["vip"]),
        ("5", [EVIL_TAG]),
    ]:
        apply("customer.tags_added", _tags(cid, tags, "2026-01-01T00:00"))
    apply("customer.tags_removed", _tags("3", ["vip"], "2026-02-01T00:00"))
    for cid, state in [("1", "subscribed"), ("2", "not_subscribed")]:
        apply(
            "customers_email_marketing_consent/update",
            {
                "customer_id": int(cid),
                "email_address": f"c{cid}@example.com",
                "email_marketing_consent": {
                    "state": state,
                    "opt_in_level": "single_opt_in",
                    "consent_updated_at": "2026-01-01T00:00:00Z",
                },
            },
        )


def _tags(cid: str, tags: list[str], when: str) -> dict[str, Any]:
    return {
        "customerId": f"gid://shopify/Customer/{cid}",
        "tags": tags,
        "occurredAt": at(when).isoformat(),
    }


def _orders(apply: Callable[[str, dict[str, Any]], None]) -> None:
    orders = [
        ("1003", "1", "80.00", "2025-11-15T10:00", [line_item("501", "80.00", 1)], {}),
        (
            "1002",
            "1",
            "300.50",
            "2026-03-01T10:00",
            [line_item("502", "300.50", 1)],
            {"app_id": 580111},  # an online sales channel
        ),
        ("1001", "1", "120.00", "2026-05-25T10:00", [line_item("501", "60.00", 2)], {}),
        (
            "1004",
            "2",
            "20.00",
            "2026-05-31T22:30",
            [line_item("503", "4.00", 5)],
            {"location_id": 7423, "app_id": 129785},  # sold in person (POS)
        ),
        ("1005", "4", "10.00", "2026-05-01T10:00", None, {"test": True}),
        (
            "1006",
            "4",
            "10.00",
            "2026-05-02T10:00",
            None,
            {"cancelled_at": "2026-05-03T10:00:00+00:00"},
        ),
        (
            "1007",
            "5",
            "999.99",
            "2025-06-01T12:00",
            [line_item("504", "999.99", 1, vendor="Indie")],
            {},
        ),
    ]
    for oid, cid, total, when, lines, extra in orders:
        apply(
            "orders/create",
            order_payload(
                oid, customer=cid, total=total, updated_at=at(when), lines=lines, **extra
            ),
        )
