"""The simulated shops' history: orders with line items, products, and a seeder.

Each object renders as the Admin GraphQL API resolves it (`node()`, what bulk and paged
queries read) and as its REST webhook payload (`webhook()`), from the same values, so a
test can feed one shop the same history both ways. `seed_history` builds a shop of any
size, deterministically from a seed (tests, the benchmark and the demo call it).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from plugin.platforms.shopify.simulator.connections import nested
from plugin.platforms.shopify.simulator.customers import SimCustomer

if TYPE_CHECKING:
    from plugin.platforms.shopify.simulator.state import SimulatorState

CITIES = (
    ("PL", "MZ", "Warszawa"),
    ("PL", "MA", "Kraków"),
    ("DE", "BE", "Berlin"),
    ("US", "NY", "New York"),
)
TYPES = ("Coffee", "Tea", "Mugs", "Books", "Gift Cards")
VENDORS = ("Acme", "Nordic Roast", "Paper & Co")
# Taxonomy-shaped category ids (a child extends its parent's id); some products have none.
CATEGORIES = ("fb-2-1", "fb-2-1-9", "hg-11-6", "me-1-3", None)
RFM = ("CHAMPIONS", "LOYAL", "AT_RISK", "DORMANT", "NEW", None)
TIERS = ("HIGH", "MEDIUM", "LOW", None)
POS_APP, POS_LOCATION = "129785", "77001"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _money(amount: str, currency: str) -> dict[str, Any]:
    return {"shopMoney": {"amount": amount, "currencyCode": currency}}


def _rest_money(amount: str, currency: str) -> dict[str, Any]:
    pair = {"amount": amount, "currency_code": currency}
    return {"shop_money": pair, "presentment_money": pair}


@dataclass
class SimLine:
    line_id: str
    product_id: str | None
    title: str
    vendor: str | None
    quantity: int
    price: str
    discount: str = "0.00"

    def node(self, currency: str) -> dict[str, Any]:
        allocations = (
            []
            if Decimal(self.discount) == 0
            else [{"allocatedAmountSet": _money(self.discount, currency)}]
        )
        return {
            "__typename": "LineItem",
            "id": f"gid://shopify/LineItem/{self.line_id}",
            "title": self.title,
            "vendor": self.vendor,
            "quantity": self.quantity,
            "product": {"id": f"gid://shopify/Product/{self.product_id}"}
            if self.product_id
            else None,
            "variant": None,
            "originalUnitPriceSet": _money(self.price, currency),
            "discountAllocations": allocations,
        }

    def webhook(self, currency: str) -> dict[str, Any]:
        allocations = (
            []
            if Decimal(self.discount) == 0
            else [{"amount_set": _rest_money(self.discount, currency)}]
        )
        return {
            "id": int(self.line_id),
            "admin_graphql_api_id": f"gid://shopify/LineItem/{self.line_id}",
            "product_id": int(self.product_id) if self.product_id else None,
            "variant_id": None,
            "title": self.title,
            "vendor": self.vendor,
            "quantity": self.quantity,
            "price": self.price,
            "price_set": _rest_money(self.price, currency),
            "total_discount_set": _rest_money(self.discount, currency),
            "discount_allocations": allocations,
        }


@dataclass
class SimOrder:
    order_id: str
    customer_id: str | None
    email: str | None
    processed_at: datetime
    updated_at: datetime
    lines: list[SimLine]
    currency: str = "USD"
    discount_codes: list[str] = field(default_factory=list)
    cancelled: bool = False
    test: bool = False
    refunded: str = "0.00"  # already taken off the current total
    refund_ids: list[str] = field(default_factory=list)
    source_name: str = "web"
    pos: bool = False
    locale: str = "en"

    @property
    def subtotal(self) -> Decimal:
        return sum(
            (Decimal(x.price) * x.quantity - Decimal(x.discount) for x in self.lines), Decimal(0)
        )

    @property
    def discounts(self) -> str:
        return str(sum((Decimal(x.discount) for x in self.lines), Decimal("0.00")))

    def totals(self) -> tuple[str, str]:
        """(current total, original total) as decimal strings."""
        original = self.subtotal
        return str(original - Decimal(self.refunded)), str(original)

    def node(self) -> dict[str, Any]:
        current, original = self.totals()
        lines = [line.node(self.currency) for line in self.lines]
        return {
            "__typename": "Order",
            "id": f"gid://shopify/Order/{self.order_id}",
            "name": f"#{self.order_id}",
            "email": self.email,
            "customerLocale": self.locale,
            "customer": {"id": f"gid://shopify/Customer/{self.customer_id}"}
            if self.customer_id
            else None,
            "currentTotalPriceSet": _money(current, self.currency),
            "totalPriceSet": _money(original, self.currency),
            "totalDiscountsSet": _money(self.discounts, self.currency),
            "displayFinancialStatus": "PARTIALLY_REFUNDED" if self.refund_ids else "PAID",
            "cancelledAt": iso(self.updated_at) if self.cancelled else None,
            "test": self.test,
            "sourceName": "pos" if self.pos else self.source_name,
            "discountCodes": list(self.discount_codes),
            "refunds": [{"id": f"gid://shopify/Refund/{r}"} for r in self.refund_ids],
            "app": {"id": f"gid://shopify/App/{POS_APP}"} if self.pos else None,
            "retailLocation": {"id": f"gid://shopify/Location/{POS_LOCATION}"}
            if self.pos
            else None,
            "processedAt": iso(self.processed_at),
            "createdAt": iso(self.processed_at),
            "updatedAt": iso(self.updated_at),
            "lineItems": nested(lines),
        }

    def webhook(self, customer: SimCustomer | None) -> dict[str, Any]:
        """The orders/create (or orders/updated) payload of API 2026-04."""
        current, original = self.totals()
        c = self.currency
        return {
            "id": int(self.order_id),
            "admin_graphql_api_id": f"gid://shopify/Order/{self.order_id}",
            "email": self.email,
            "name": f"#{self.order_id}",
            "currency": c,
            "current_total_price_set": _rest_money(current, c),
            "total_price_set": _rest_money(original, c),
            "total_discounts_set": _rest_money(self.discounts, c),
            "financial_status": "partially_refunded" if self.refund_ids else "paid",
            "cancelled_at": iso(self.updated_at) if self.cancelled else None,
            "test": self.test,
            "source_name": "pos" if self.pos else self.source_name,
            "discount_codes": [{"code": code} for code in self.discount_codes],
            "refunds": [
                {"id": int(r), "admin_graphql_api_id": f"gid://shopify/Refund/{r}"}
                for r in self.refund_ids
            ],
            "app_id": int(POS_APP) if self.pos else None,
            "location_id": int(POS_LOCATION) if self.pos else None,
            "customer_locale": self.locale,
            "processed_at": iso(self.processed_at),
            "created_at": iso(self.processed_at),
            "updated_at": iso(self.updated_at),
            "line_items": [line.webhook(c) for line in self.lines],
            "customer": {"id": int(customer.customer_id), "admin_graphql_api_id": customer.gid}
            if customer
            else None,
        }


def customer_webhooks(customer: SimCustomer) -> list[tuple[str, dict[str, Any], str]]:
    """(topic, payload, triggered instant) of the webhooks that bring this customer in
    API 2026-04: the customer, its consent, its tags and Shopify's totals."""
    country, province, city = customer.address or (None, None, None)
    profile = {
        "id": int(customer.customer_id),
        "admin_graphql_api_id": customer.gid,
        "email": customer.email,
        "phone": customer.phone,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "state": customer.state.lower(),
        "verified_email": customer.verified_email,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
        "default_address": {"country_code": country, "province_code": province, "city": city}
        if customer.address
        else None,
        "addresses": [
            {"country_code": a[0], "province_code": a[1], "city": a[2]}
            for a in customer.all_addresses()
        ],
    }
    hooks: list[tuple[str, dict[str, Any], str]] = [
        ("customers/create", profile, customer.updated_at)
    ]
    if customer.email:
        consent = {
            "state": customer.email_marketing_state.lower(),
            "opt_in_level": customer.email_opt_in_level.lower()
            if customer.email_opt_in_level
            else None,
            "consent_updated_at": customer.email_consent_updated_at,
        }
        body = {
            "customer_id": int(customer.customer_id),
            "email_address": customer.email,
            "email_marketing_consent": consent,
        }
        hooks.append(
            (
                "customers_email_marketing_consent/update",
                body,
                customer.email_consent_updated_at or customer.updated_at,
            )
        )
    if customer.tags:
        body = {
            "customerId": customer.gid,
            "tags": list(customer.tags),
            "occurredAt": customer.updated_at,
        }
        hooks.append(("customer.tags_added", body, customer.updated_at))
    summary = {
        "customerId": customer.gid,
        "numberOfOrders": customer.number_of_orders,
        "amountSpent": {"amount": customer.amount_spent, "currencyCode": customer.currency},
        "lastOrderId": None,
        "occurredAt": customer.updated_at,
    }
    hooks.append(("customers/purchasing_summary", summary, customer.updated_at))
    return hooks


def product_webhook(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": int(node["id"].rsplit("/", 1)[1]),
        "admin_graphql_api_id": node["id"],
        "title": node["title"],
        "product_type": node["productType"],
        "vendor": node["vendor"],
        "tags": ", ".join(node["tags"]),
        "updated_at": node["updatedAt"],
        "category": _rest_category(node.get("category")),
    }


def _rest_category(category: dict[str, Any] | None) -> dict[str, Any] | None:
    """REST payloads name the category by its GID under `admin_graphql_api_id`."""
    return {"admin_graphql_api_id": category["id"]} if category else None


def seed_history(
    state: SimulatorState,
    shop: str,
    *,
    customers: int = 50,
    orders_per_customer: float = 3.0,
    products: int = 20,
    seed: int = 1,
    now: datetime | None = None,
    days: int = 720,
    first_id: int = 1000,
) -> None:
    """A shop with `customers` customers (a few without email), about
    `orders_per_customer` orders each over the last `days` days (some guest, test,
    cancelled, discounted, refunded and point-of-sale orders), and `products` products."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC).replace(microsecond=0)
    product_ids = [str(first_id * 10 + i) for i in range(products)]
    for i, pid in enumerate(product_ids):
        state.add_product(
            shop,
            pid,
            title=f"Product {i}",
            product_type=TYPES[i % len(TYPES)],
            vendor=VENDORS[i % len(VENDORS)],
            tags=[f"t{i % 3}", "Catalogue"],
            updated_at=iso(now - timedelta(days=rng.randint(1, 400))),
            category=CATEGORIES[i % len(CATEGORIES)],
        )
    next_order = first_id * 100
    for n in range(customers):
        customer = _customer(state, shop, str(first_id + n), n, rng, now)
        count = min(int(rng.expovariate(1 / orders_per_customer)), 40) if n % 9 else 0
        spent = Decimal(0)
        for _ in range(count):
            order = _order(str(next_order), customer, product_ids, rng, now, days)
            state.add_order(shop, order)
            next_order += 1
            if not (order.test or order.cancelled):
                spent += Decimal(order.totals()[0])
        customer.number_of_orders, customer.amount_spent = (
            count,
            str(spent.quantize(Decimal("0.01"))),
        )
    for _ in range(max(1, customers // 10)):  # guests
        order = _order(str(next_order), None, product_ids, rng, now, days)
        state.add_order(shop, order)
        next_order += 1


def _customer(
    state: SimulatorState, shop: str, cid: str, n: int, rng: random.Random, now: datetime
) -> SimCustomer:
    email = None if n % 17 == 16 else f"Customer.{cid}@Example.com"
    created = now - timedelta(days=rng.randint(30, 900))
    customer = state.add_customer(
        shop,
        cid,
        email=email,
        tags=[t for t in ("VIP", "newsletter", "wholesale") if rng.random() < 0.3],
        email_marketing_state=rng.choice(("SUBSCRIBED", "NOT_SUBSCRIBED", "UNSUBSCRIBED")),
        first_name=f"First{n}",
        last_name=f"Last{n}",
    )
    customer.created_at = iso(created)
    customer.updated_at = iso(created + timedelta(days=rng.randint(0, 25)))
    customer.phone = f"+4850000{n:04d}" if n % 3 == 0 else None
    customer.address = CITIES[n % len(CITIES)] if n % 5 else None
    # a second address for some (no draw from rng: the rest of the shop stays as it was)
    customer.other_addresses = [CITIES[(n + 1) % len(CITIES)]] if n % 7 == 3 else []
    customer.locale = "pl" if n % 4 == 0 else "en"
    customer.email_opt_in_level = "SINGLE_OPT_IN" if email else None
    customer.email_consent_updated_at = customer.updated_at if email else None
    customer.rfm_group = RFM[n % len(RFM)]
    customer.spend_tier = TIERS[n % len(TIERS)]
    return customer


def _order(
    oid: str,
    customer: SimCustomer | None,
    product_ids: list[str],
    rng: random.Random,
    now: datetime,
    days: int,
) -> SimOrder:
    placed = now - timedelta(days=rng.randint(0, days), seconds=rng.randint(0, 86399))
    lines = []
    for k in range(rng.choice((1, 1, 2, 3, 4))):
        pid = rng.choice(product_ids) if product_ids and rng.random() < 0.9 else None
        price = f"{rng.randint(300, 9000) / 100:.2f}"
        discount = f"{rng.randint(0, 200) / 100:.2f}" if rng.random() < 0.2 else "0.00"
        lines.append(
            SimLine(
                f"{oid}{k}",
                pid,
                f"Item {pid or 'custom'}",
                rng.choice(VENDORS),
                rng.randint(1, 3),
                price,
                discount,
            )
        )
    order = SimOrder(
        oid,
        customer.customer_id if customer else None,
        customer.email if customer else f"guest{oid}@example.com",
        placed,
        placed + timedelta(hours=rng.randint(0, 72)),
        lines,
        discount_codes=["WELCOME10"] if rng.random() < 0.15 else [],
        cancelled=rng.random() < 0.05,
        test=rng.random() < 0.02,
        pos=rng.random() < 0.1,
        locale=customer.locale if customer else "en",
    )
    if rng.random() < 0.05:  # refunded in part, the refund listed on the order
        order.refunded, order.refund_ids = "1.00", [f"9{oid}"]
    return order
