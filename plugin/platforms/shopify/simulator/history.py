"""The simulated shops' history: orders with line items, products, and a seeder.

Each object renders as the Admin GraphQL API resolves it (`node()`, what bulk and paged
queries read) and as its REST webhook payload (`webhook()`), from the same values, so a
test can feed one shop the same history both ways. `seed_history` builds a shop of any
size, deterministically from a seed (tests, the benchmark and the demo call it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from plugin.platforms.shopify.simulator.connections import nested
from plugin.platforms.shopify.simulator.customers import SimCustomer

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
SMS_STATES = ("SUBSCRIBED", "NEVER_SUBSCRIBED", "UNSUBSCRIBED", "PENDING")
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
    API 2026-04: the customer, its email and SMS consent, its tags and Shopify's totals."""
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
        # as a subscription that names every namespace the customer has would carry them
        "metafields": [
            {**{k: v for k, v in node.items() if k != "id"}, "owner_resource": "customer"}
            for node in customer.metafield_nodes()
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
    if customer.phone:
        hooks.append(sms_consent_webhook(customer))
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


def sms_consent_webhook(customer: SimCustomer) -> tuple[str, dict[str, Any], str]:
    """customers_marketing_consent/update: the phone number's consent in REST spelling
    (GraphQL's NEVER_SUBSCRIBED is `not_subscribed` there)."""
    state = customer.sms_marketing_state
    consent = {
        "state": "not_subscribed" if state == "NEVER_SUBSCRIBED" else state.lower(),
        "opt_in_level": (customer.sms_opt_in_level or "").lower() or None,
        "consent_updated_at": customer.sms_consent_updated_at,
        "consent_collected_from": "OTHER",
    }
    body: dict[str, Any] = {
        "id": int(customer.customer_id),
        "phone": customer.phone,
        "sms_marketing_consent": consent,
    }
    return (
        "customers_marketing_consent/update",
        body,
        customer.sms_consent_updated_at or customer.updated_at,
    )


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
