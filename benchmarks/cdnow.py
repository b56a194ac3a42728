"""CDNOW transactions as signed Shopify `orders/create` deliveries (API 2026-04 order shape)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from plugin.data import CDNOW_MASTER, open_text
from plugin.platforms.shopify.webhook_signature import webhook_hmac

PROJECT = Path(__file__).resolve().parent.parent
CDNOW_FILE = CDNOW_MASTER  # vendored package data, gzipped
API_VERSION = "2026-04"
TOPIC = "orders/create"
# 13-digit ids like Shopify's; the order id is derived from the file's line number.
ORDER_ID_BASE = 5_100_000_000_000
CUSTOMER_ID_BASE = 7_200_000_000_000
# CDNOW has dates only; noon US Eastern, the way Shopify stamps shop-local times.
SHOP_TZ = timezone(timedelta(hours=-5))
IDS = uuid.UUID("6f1c0a52-9b1e-4e43-9a51-cd0000000000")


@dataclass(frozen=True)
class Transaction:
    """One line of CDNOW_master.txt; same-day repeats of a customer stay separate orders."""

    line: int
    customer: str
    day: date
    cds: int
    dollars: Decimal

    @property
    def order_id(self) -> int:
        return ORDER_ID_BASE + self.line

    @property
    def customer_id(self) -> int:
        return CUSTOMER_ID_BASE + int(self.customer)

    @property
    def minor(self) -> int:
        return int(self.dollars * 100)

    @property
    def ordered_at(self) -> datetime:
        return datetime.combine(self.day, datetime.min.time(), SHOP_TZ).replace(hour=12)


@dataclass(frozen=True)
class SignedDelivery:
    """Exactly what Shopify would send: the body bytes and the signed headers."""

    webhook_id: str
    body: bytes
    headers: dict[str, str]


def read_transactions(limit: int, path: Path = CDNOW_FILE) -> list[Transaction]:
    """The first `limit` transactions of the file, plain or gzipped (line 1 is the header)."""
    found: list[Transaction] = []
    with open_text(path) as fh:
        next(fh)
        for line, text in enumerate(fh, start=2):
            if len(found) == limit:
                break
            customer, day, cds, dollars = text.split()
            found.append(Transaction(line, customer, _day(day), int(cds), Decimal(dollars)))
    if len(found) < limit:
        raise ValueError(f"{path} has only {len(found)} transactions, {limit} asked")
    return found


def _day(text: str) -> date:
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def signed_deliveries(
    transactions: list[Transaction], shop: str, secret: str
) -> list[SignedDelivery]:
    return [sign_delivery(order_payload(tx), tx, shop, secret) for tx in transactions]


def sign_delivery(
    payload: dict[str, Any], tx: Transaction, shop: str, secret: str
) -> SignedDelivery:
    body = json.dumps(payload, separators=(",", ":")).encode()
    webhook_id = str(uuid.uuid5(IDS, f"webhook-{tx.line}"))
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": TOPIC,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Hmac-Sha256": sign(secret, body),
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Event-Id": str(uuid.uuid5(IDS, f"event-{tx.line}")),
        "X-Shopify-API-Version": API_VERSION,
        "X-Shopify-Triggered-At": tx.ordered_at.isoformat(),
    }
    return SignedDelivery(webhook_id, body, headers)


def sign(secret: str, body: bytes) -> str:
    """Shopify's webhook signature (base64 HMAC-SHA256 of the raw body)."""
    return webhook_hmac(secret, body)


def money(amount: Decimal | str) -> dict[str, Any]:
    value = {"amount": str(amount), "currency_code": "USD"}
    return {"shop_money": value, "presentment_money": dict(value)}


def order_payload(tx: Transaction) -> dict[str, Any]:
    """An orders/create body: the fields the adapter reads plus the usual companions, so
    the body size and parse work are close to a real delivery's."""
    at = tx.ordered_at.isoformat()
    total = f"{tx.dollars:.2f}"
    email = f"cdnow{tx.customer}@example.com"
    return {
        "id": tx.order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{tx.order_id}",
        "name": f"#{tx.line}",
        "number": tx.line,
        "order_number": 1000 + tx.line,
        "token": uuid.uuid5(IDS, f"token-{tx.line}").hex,
        "email": email,
        "contact_email": email,
        "phone": None,
        "currency": "USD",
        "presentment_currency": "USD",
        **_totals(total),
        "financial_status": "paid",
        "fulfillment_status": None,
        "confirmed": True,
        "cancelled_at": None,
        "cancel_reason": None,
        "closed_at": None,
        "test": False,
        "source_name": "web",
        "tags": "",
        "note": None,
        "note_attributes": [],
        "discount_codes": [],
        "discount_applications": [],
        "checkout_token": None,
        "cart_token": None,
        "refunds": [],
        "shipping_lines": [],
        "tax_lines": [],
        "taxes_included": False,
        "customer_locale": "en",
        "processed_at": at,
        "created_at": at,
        "updated_at": at,
        "line_items": [_line(tx)],
        "customer": _customer(tx, email),
        "billing_address": _address(tx),
        "shipping_address": _address(tx),
    }


def _totals(total: str) -> dict[str, Any]:
    zero = "0.00"
    return {
        "total_price": total,
        "subtotal_price": total,
        "current_total_price": total,
        "total_discounts": zero,
        "total_tax": zero,
        "total_price_set": money(total),
        "subtotal_price_set": money(total),
        "current_total_price_set": money(total),
        "current_subtotal_price_set": money(total),
        "total_line_items_price_set": money(total),
        "total_discounts_set": money(zero),
        "current_total_discounts_set": money(zero),
        "total_tax_set": money(zero),
        "current_total_tax_set": money(zero),
        "total_shipping_price_set": money(zero),
    }


def _line(tx: Transaction) -> dict[str, Any]:
    line_id = tx.order_id * 10 + 1
    price = (tx.dollars / tx.cds).quantize(Decimal("0.01"))
    return {
        "id": line_id,
        "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
        "product_id": None,
        "variant_id": None,
        "title": "Compact disc",
        "name": "Compact disc",
        "sku": None,
        "vendor": None,
        "quantity": tx.cds,
        "current_quantity": tx.cds,
        "grams": 100 * tx.cds,
        "price": str(price),
        "price_set": money(price),
        "total_discount": "0.00",
        "total_discount_set": money("0.00"),
        "discount_allocations": [],
        "tax_lines": [],
        "taxable": True,
        "requires_shipping": True,
        "gift_card": False,
        "fulfillment_status": None,
    }


def _customer(tx: Transaction, email: str) -> dict[str, Any]:
    return {
        "id": tx.customer_id,
        "admin_graphql_api_id": f"gid://shopify/Customer/{tx.customer_id}",
        "email": email,
        "phone": None,
        "first_name": "Customer",
        "last_name": tx.customer,
        "state": "enabled",
        "verified_email": True,
        "created_at": None,
        "updated_at": None,
        "currency": "USD",
        "tax_exempt": False,
        "default_address": {**_address(tx), "customer_id": tx.customer_id, "default": True},
    }


def _address(tx: Transaction) -> dict[str, Any]:
    return {
        "first_name": "Customer",
        "last_name": tx.customer,
        "address1": f"{int(tx.customer)} Main St.",
        "city": "Portland",
        "province": "Oregon",
        "province_code": "OR",
        "country": "United States",
        "country_code": "US",
        "zip": "97201",
    }
