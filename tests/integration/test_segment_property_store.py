"""Generated raw rows for the property test: three shops (JPY in Asia/Kathmandu, KWD in
Europe/Warsaw across the October DST change, USD in America/Santiago), NULLs, empty tag
lists, Unicode tags and types, instants at and around local midnights; one fixed seed."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from plugin.events import Address, Metafield
from plugin.predictions.models import Prediction
from plugin.profiles.addresses import address_row
from plugin.profiles.facts_models import (
    CustomerCompany,
    CustomerMetafield,
    StoreCredit,
    StoreCreditAccount,
)
from plugin.profiles.metafields import metafield_rows
from plugin.profiles.models import (
    Checkout,
    Customer,
    CustomerAddress,
    CustomerTag,
    Order,
    Product,
    ProductTag,
    Purchase,
)
from plugin.profiles.money import currency_exponent
from plugin.shops.models import INSTALLED, Shop

# The day after Warsaw leaves summer time: -1d and -2d straddle the 25-hour day.
NOW = datetime(2026, 10, 26, 9, 30, tzinfo=UTC)
SHOPS = [("JPY", "Asia/Kathmandu", 0), ("KWD", "Europe/Warsaw", 3), ("USD", "America/Santiago", 2)]
TAGS = ["VIP", "Żabka", "żubr", "sale", "ŻUBR-2", "x'; DROP TABLE customers; --"]
TYPES = ["Żupan", "Shoes", "shoes ", None]
VENDORS = ["Acme", "ACME", "Łódź Ltd", None]
STATES = ["subscribed", "not_subscribed", "pending", "unsubscribed", None]
LOCALES = ["en", "pl", "pt-BR", None]
COUNTRIES = ["PL", "JP", "CL", None, ""]
# Products' taxonomy categories, by product number: a parent, its child, a sibling whose id
# shares the parent's text but is not below it (aa-10), none, another vertical.
CATEGORIES = ["aa-1", "aa-1-13", "aa-10", None, "hg-2"]
# Orders' point-of-sale location and app, customers' imported Shopify statistics: drawn
# from Randoms of their own, so the rows drawn before these existed stay what they were.
LOCATIONS = ["11", "12", None]
APPS = ["580111", "129785", None]
SHOPIFY_RFM = ["CHAMPIONS", "AT_RISK", "DORMANT", "PROSPECTS", None]
SPEND_TIERS = ["HIGH", "MEDIUM", "LOW", None]
PROVINCES = ["MZ", "ma", None, ""]
# (country, province, city) of customer_addresses rows: spaces, Unicode, case, missing parts
PLACES = [
    ("PL", "MZ", "Warszawa"),
    ("PL", "MA", "Kraków"),
    ("pl", "ma", "KRAKÓW"),
    ("US", "CA", "Los Angeles"),
    ("US", "NY", "New York"),
    ("JP", None, "Tōkyō"),
    ("CL", "RM", "Santiago"),
    (None, None, "Nowhere"),
    ("US", "CA", None),
    ("PL", None, "Łódź"),
    ("US", "NC", "Winston-Salem"),
]
SMS_STATES = ["subscribed", "not_subscribed", "pending", "unsubscribed", "redacted", None]
# Prediction columns as the reference reads them (customer dict key → Prediction column),
# with values on and around the built-ins' thresholds.
PREDICTED = {
    "pred_churn_risk": ("churn_risk", [0.0, 0.25, 1 / 3, 0.66, 0.6600001, 0.9, 1.0]),
    "pred_p_alive": ("p_alive", [0.0, 0.3, 0.5, 0.999, 1.0]),
    "pred_orders_90d": ("predicted_orders_90d", [0.0, 0.5, 1.0, 2.25]),
    "pred_clv": ("predicted_clv_minor", [0, 999, 1000, 1001, 50_000]),
    "pred_percentile": ("predicted_clv_percentile", [1, 50, 90, 91, 100]),
    "pred_kind": ("prediction_kind", ["model", "heuristic"]),
}


@dataclass
class Raw:
    """Everything the reference evaluator may read, as plain values."""

    shops: dict[int, tuple[str, str, int]] = field(default_factory=dict)  # currency, tz, exp
    customers: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    products: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    orders: list[dict[str, Any]] = field(default_factory=list)
    purchases: list[dict[str, Any]] = field(default_factory=list)
    checkouts: list[dict[str, Any]] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    metafields: list[dict[str, Any]] = field(default_factory=list)
    companies: list[dict[str, Any]] = field(default_factory=list)
    credit_accounts: list[dict[str, Any]] = field(default_factory=list)


def near_midnight(rnd: random.Random, tz: str) -> datetime:
    """An instant at, just before or just after a local midnight within ~400 days of NOW."""
    # few distinct days (the DST change, week, month and year edges), so literals drawn
    # from the rows land on the boundaries of other rows
    back = rnd.choice([-2, 0, 1, 2, 3, 7, 8, 30, 31, 58, 91, 182, 365, 366])
    day = (NOW.astimezone(ZoneInfo(tz)) - timedelta(days=back)).date()
    start = datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)
    offset = rnd.choice([0, 0, -1, 1, -3600, 3600, 12 * 3600])
    return start + timedelta(seconds=offset)


def maybe(rnd: random.Random, value: Any, none_share: float = 0.2) -> Any:
    return None if rnd.random() < none_share else value


def build(session: Session, customers_per_shop: int = 24, seed: int = 20261026) -> Raw:
    rnd = random.Random(seed)
    raw = Raw()
    for index, (currency, tz, exponent) in enumerate(SHOPS):
        shop = Shop(
            domain=f"prop{index}.myshopify.com",
            install_state=INSTALLED,
            currency=currency,
            timezone=tz,
        )
        session.add(shop)
        session.flush()
        raw.shops[shop.id] = (currency, tz, exponent)
        _products(session, raw, rnd, shop.id)
        for n in range(customers_per_shop):
            _customer(session, raw, rnd, shop.id, tz, n)
        # a Random of their own, so the rows above stay what they were before predictions
        _predictions(session, raw, random.Random(seed + index), shop.id, tz)
        _places(session, raw, random.Random(seed + 100 + index), shop.id)
        _metafields(session, raw, random.Random(seed + 200 + index), shop.id, tz)
        _facts(session, raw, random.Random(seed + 300 + index), shop.id)
        _store_credit(session, raw, random.Random(seed + 400 + index), shop.id, tz)
    session.commit()
    return raw


def _predictions(session: Session, raw: Raw, rnd: random.Random, shop_id: int, tz: str) -> None:
    """A prediction row for most customers: scored, or unscored with a reason (NULLs)."""
    for c in (c for c in raw.customers if c["shop_id"] == shop_id):
        c.update(dict.fromkeys([*PREDICTED, "pred_next"]))
        if rnd.random() < 0.15:
            continue  # no row at all: no orders yet
        values: dict[str, Any] = {}
        if rnd.random() < 0.85:  # scored; else a row with every score NULL
            values = {key: rnd.choice(choices) for key, (_col, choices) in PREDICTED.items()}
            ahead = timedelta(days=rnd.choice([0, 1, 7, 8, 30]))
            values["pred_next"] = maybe(rnd, near_midnight(rnd, tz) + ahead, 0.1)
        c.update(values)
        columns = {col: values.get(key) for key, (col, _choices) in PREDICTED.items()}
        session.add(
            Prediction(
                shop_id=shop_id,
                customer_id=c["id"],
                expected_next_order_at=values.get("pred_next"),
                no_score_reason=None if values else "single_order",
                fitted_at=NOW,
                **columns,
            )
        )


def _places(session: Session, raw: Raw, rnd: random.Random, shop_id: int) -> None:
    """A province and SMS consent on the profile row, and 0-3 addresses per customer."""
    for c in (c for c in raw.customers if c["shop_id"] == shop_id):
        c["province_code"], c["sms_marketing_state"] = rnd.choice(PROVINCES), rnd.choice(SMS_STATES)
        row = session.get(Customer, c["id"])
        assert row is not None
        row.province_code, row.sms_marketing_state = c["province_code"], c["sms_marketing_state"]
        for country, province, city in rnd.sample(PLACES, rnd.choice([0, 0, 1, 2, 3])):
            values = address_row(shop_id, c["id"], Address(country, province, city))
            session.add(CustomerAddress(**values))
            raw.addresses.append(
                {"customer_id": c["id"], "country": country, "province": province, "city": city}
            )


def metafield_pool(rnd: random.Random, tz: str) -> list[tuple[str, str, str, list[str]]]:
    """(namespace, key, kind, values) a customer may have: birthdays around today's month
    and day (Feb 29, the new year), numbers on and off round values, instants at local
    midnights written in another offset, booleans, text and a list of text."""
    today = NOW.astimezone(ZoneInfo(tz)).date()
    near = today + timedelta(days=rnd.choice([-1, 0, 1, 6, 7, 8, 29, 30, 31, 200]))
    year = rnd.choice([1960, 1988, 1992, 2000])
    birthday = rnd.choice([near.replace(year=year), date(1992, 2, 29), date(1990, 12, 31)])
    moment = near_midnight(rnd, tz).astimezone(timezone(timedelta(hours=rnd.choice([-5, 0, 9]))))
    return [
        ("facts", "birth_date", "date", [birthday.isoformat()]),
        ("custom", "points", "number", [rnd.choice(["0", "99", "100", "100.5", "-3", "7"])]),
        ("custom", "since", "date_time", [moment.isoformat()]),
        ("custom", "vip", "boolean", [rnd.choice(["true", "false"])]),
        ("custom", "nick", "text", [rnd.choice(["Ala", "ALA", "Żaneta", "o'Neil"])]),
        ("custom", "interests", "text", rnd.sample(["Tea", "tea ", "Kawa", "Żubr", "7"], 2)),
        ("custom", "sizes", "number", rnd.sample(["7", "8.5", "100"], rnd.randint(1, 2))),
    ]


def _metafields(session: Session, raw: Raw, rnd: random.Random, shop_id: int, tz: str) -> None:
    """0-5 metafields per customer, through the app's own typing (metafield_rows)."""
    for c in (c for c in raw.customers if c["shop_id"] == shop_id):
        chosen = rnd.sample(metafield_pool(rnd, tz), rnd.choice([0, 1, 2, 3, 4, 5]))
        fields = [Metafield(ns, key, kind, tuple(values)) for ns, key, kind, values in chosen]
        for row in metafield_rows(shop_id, c["id"], fields):
            session.add(CustomerMetafield(**row))
        raw.metafields += [
            {"customer_id": c["id"], "namespace": ns, "key": key, "kind": kind, "values": values}
            for ns, key, kind, values in chosen
        ]


def _facts(session: Session, raw: Raw, rnd: random.Random, shop_id: int) -> None:
    """B2B companies: none for most customers, one or two of a few for some."""
    for c in (c for c in raw.customers if c["shop_id"] == shop_id):
        for company in rnd.sample(["4001", "4002", "9007199254740993"], rnd.choice([0, 0, 1, 2])):
            session.add(CustomerCompany(shop_id=shop_id, customer_id=c["id"], company_id=company))
            raw.companies.append({"customer_id": c["id"], "company_id": company})


def _store_credit(session: Session, raw: Raw, rnd: random.Random, shop_id: int, tz: str) -> None:
    """0-2 accounts in currencies of different exponents, balances on and off round
    amounts, 0-3 credits expiring around NOW (or never), spent or not."""
    for c in (c for c in raw.customers if c["shop_id"] == shop_id):
        for n, currency in enumerate(rnd.sample(["USD", "JPY", "KWD"], rnd.choice([0, 0, 1, 2]))):
            account = {
                "customer_id": c["id"],
                "account_id": f"{c['id']}-{n}",
                "currency": currency,
                "exponent": currency_exponent(currency),
                "balance_minor": rnd.choice([0, 1, 999, 1000, 1001, 10_000, 250_000]),
                "credits": [],
            }
            owned = {k: account[k] for k in ("customer_id", "account_id")}
            session.add(
                StoreCreditAccount(
                    shop_id=shop_id,
                    **owned,
                    **{k: account[k] for k in ("currency", "exponent", "balance_minor")},
                )
            )
            for _ in range(rnd.randint(0, 3)):
                ahead = timedelta(days=rnd.choice([-3, -1, 0, 1, 6, 7, 8, 30]))
                expires = NOW + ahead + timedelta(hours=rnd.choice([-1, 0, 1]))
                expires = None if rnd.random() < 0.25 else expires  # never expires
                credit = {
                    "credited_at": near_midnight(rnd, tz),
                    "expires_at": expires,
                    "remaining_minor": rnd.choice([0, 500]),
                }
                account["credits"].append(credit)
                session.add(StoreCredit(shop_id=shop_id, **owned, **credit))
            raw.credit_accounts.append(account)


def _products(session: Session, raw: Raw, rnd: random.Random, shop_id: int) -> None:
    for n in range(5):
        type_, vendor = TYPES[n % len(TYPES)], VENDORS[(n + 1) % len(VENDORS)]
        product = Product(
            shop_id=shop_id,
            platform_id=str(700 + n),
            product_type=type_,
            product_type_cf=type_.casefold() if type_ else None,
            vendor=vendor,
            vendor_cf=vendor.casefold() if vendor else None,
            category_id=CATEGORIES[n],
        )
        session.add(product)
        session.flush()
        tags = rnd.sample(TAGS, rnd.randint(0, 2))
        for tag in tags:
            session.add(
                ProductTag(shop_id=shop_id, product_id=product.id, tag=tag, tag_cf=tag.casefold())
            )
        raw.products[(shop_id, product.platform_id)] = {
            "type": type_,
            "vendor": vendor,
            "tags": tags,
            "category": CATEGORIES[n],
        }


def _customer(
    session: Session, raw: Raw, rnd: random.Random, shop_id: int, tz: str, n: int
) -> None:
    spent = rnd.choice([0, 1, 999, 1000, 1001, 50_000, 123_456])
    imported = random.Random(f"statistics-{shop_id}-{n}")
    customer = Customer(
        platform_rfm_group=imported.choice(SHOPIFY_RFM),
        predicted_spend_tier=imported.choice(SPEND_TIERS),
        shop_id=shop_id,
        platform_id=f"{shop_id}-{n:03d}",
        orders_count=rnd.randint(0, 4),
        total_spent_minor=spent,
        avg_order_value_minor=maybe(rnd, rnd.choice([0, 500, 999, 1000, 1500])),
        discount_order_share=maybe(rnd, rnd.choice([0.0, 0.25, 1 / 3, 0.5, 1.0])),
        first_order_at=maybe(rnd, near_midnight(rnd, tz)),
        last_order_at=maybe(rnd, near_midnight(rnd, tz)),
        platform_created_at=maybe(rnd, near_midnight(rnd, tz)),
        last_abandoned_at=maybe(rnd, near_midnight(rnd, tz), 0.5),
        email_marketing_state=rnd.choice(STATES),
        locale=rnd.choice(LOCALES),
        country_code=rnd.choice(COUNTRIES),
        state="enabled",
    )
    session.add(customer)
    session.flush()
    raw.customers.append(
        {
            c: getattr(customer, c)
            for c in (
                "id",
                "shop_id",
                "orders_count",
                "total_spent_minor",
                "avg_order_value_minor",
                "discount_order_share",
                "first_order_at",
                "last_order_at",
                "platform_created_at",
                "last_abandoned_at",
                "email_marketing_state",
                "locale",
                "country_code",
                "platform_rfm_group",
                "predicted_spend_tier",
            )
        }
    )
    for tag in rnd.sample(TAGS, rnd.randint(0, 3)):
        present = rnd.random() < 0.8
        session.add(
            CustomerTag(
                shop_id=shop_id,
                customer_id=customer.id,
                tag=tag,
                tag_cf=tag.casefold(),
                present=present,
            )
        )
        raw.tags.append({"customer_id": customer.id, "tag": tag, "present": present})
    for k in range(rnd.randint(0, 4)):
        _order(session, raw, rnd, shop_id, tz, customer.id, f"{customer.platform_id}-{k}")
    for k in range(rnd.randint(0, 2)):
        _checkout(session, raw, rnd, shop_id, tz, customer.id, f"{customer.platform_id}-c{k}")


def _order(
    session: Session,
    raw: Raw,
    rnd: random.Random,
    shop_id: int,
    tz: str,
    customer_id: int,
    key: str,
) -> None:
    ordered_at = near_midnight(rnd, tz)
    test, cancelled = rnd.random() < 0.1, rnd.random() < 0.1
    where = random.Random(f"where-{key}")
    order = Order(
        location_id=where.choice(LOCATIONS),
        app_id=where.choice(APPS),
        shop_id=shop_id,
        platform_id=key,
        customer_id=maybe(rnd, customer_id, 0.1),
        net_total_minor=rnd.choice([0, 999, 1000, 1001, 25_000]),
        test=test,
        cancelled_at=ordered_at if cancelled else None,
        ordered_at=ordered_at,
        checkout_token=f"tok-{key}" if rnd.random() < 0.3 else None,
    )
    session.add(order)
    session.flush()
    raw.orders.append(
        {
            c: getattr(order, c)
            for c in (
                "id",
                "shop_id",
                "customer_id",
                "net_total_minor",
                "test",
                "cancelled_at",
                "ordered_at",
                "checkout_token",
                "location_id",
                "app_id",
            )
        }
    )
    if test or cancelled or order.customer_id is None:
        return  # purchases hold counted orders of known customers only
    for _ in range(rnd.randint(1, 2)):
        product_id = str(700 + rnd.randint(0, 4))
        product = raw.products[(shop_id, product_id)]
        purchase = Purchase(
            shop_id=shop_id,
            customer_id=customer_id,
            order_id=order.id,
            ordered_at=ordered_at,
            product_platform_id=product_id,
            product_type_cf=product["type"].casefold() if product["type"] else None,
            vendor_cf=product["vendor"].casefold() if product["vendor"] else None,
            quantity=rnd.randint(1, 3),
            amount_minor=rnd.choice([100, 999]),
        )
        session.add(purchase)
        raw.purchases.append(
            {
                "customer_id": customer_id,
                "order_id": order.id,
                "ordered_at": ordered_at,
                "product": product_id,
                "shop_id": shop_id,
                "quantity": purchase.quantity,
            }
        )


def _checkout(
    session: Session,
    raw: Raw,
    rnd: random.Random,
    shop_id: int,
    tz: str,
    customer_id: int,
    key: str,
) -> None:
    # some tokens are an order's checkout token (completed by it), some completed outright
    token = rnd.choice([f"tok-{key}", f"tok-{key[:-3]}-0", f"tok-{key[:-3]}-1"])
    if any(c["token"] == token and c["shop_id"] == shop_id for c in raw.checkouts):
        return
    checkout = Checkout(
        shop_id=shop_id,
        token=token,
        customer_id=maybe(rnd, customer_id, 0.1),
        platform_created_at=near_midnight(rnd, tz),
        platform_updated_at=maybe(rnd, NOW - timedelta(hours=rnd.choice([1, 9, 10, 11, 30]))),
        completed_at=NOW if rnd.random() < 0.2 else None,
    )
    session.add(checkout)
    raw.checkouts.append(
        {
            "shop_id": shop_id,
            "token": token,
            "customer_id": checkout.customer_id,
            "created": checkout.platform_created_at,
            "updated": checkout.platform_updated_at,
            "completed": checkout.completed_at,
        }
    )
