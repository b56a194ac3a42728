"""What a firing carries: its fields per trigger, the Flow payload and the webhook body.

Fields are gathered when the firing fires (the cart as it is then). The Flow payload uses
the keys declared in manifest.json (letters and spaces, as Flow requires; the customer
reference is `customer_id`, the numeric id); the webhook body is our own documented JSON
(docs/triggers.md), signed over its exact bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.platforms.shopify.webhook_signature import webhook_hmac
from plugin.profiles.models import Checkout, Customer, Order, OrderLine, Product
from plugin.profiles.money import format_minor
from plugin.profiles.products import casefold
from plugin.shops.models import Shop
from plugin.triggers import catalogue as c
from plugin.triggers.models import TriggerFiring

SIGNATURE_HEADER = "X-ShopSegments-Signature"
CUSTOMER_GID = "gid://shopify/Customer/"
Fields = dict[str, Any]


class Gone(Exception):
    """What the firing was about no longer exists (the checkout or order was deleted)."""


# --- fields per trigger ------------------------------------------------------------------


def _abandoned(session: Session, firing: TriggerFiring, now: datetime) -> Fields:
    checkout = session.scalar(
        select(Checkout).where(
            Checkout.shop_id == firing.shop_id, Checkout.token == firing.checkout_token
        )
    )
    if checkout is None:
        raise Gone("the checkout no longer exists")
    items = (checkout.line_items or {}).get("items") or []
    return {
        "checkout_token": checkout.token,
        "step": int(firing.payload.get("step") or 1),
        "recovery_url": checkout.recovery_url,
        "cart_value": format_minor(checkout.total_minor, checkout.currency),
        "currency": checkout.currency,
        "email": checkout.email,
        "line_items": [
            {
                "title": item.get("title"),
                "quantity": item.get("quantity"),
                "price": format_minor(item.get("price_minor"), checkout.currency),
                "product_id": item.get("product_id"),
                "variant_id": item.get("variant_id"),
            }
            for item in items
        ],
    }


def _reactivation(session: Session, firing: TriggerFiring, now: datetime) -> Fields:
    customer = session.get(Customer, firing.customer_id)
    last = customer.last_order_at if customer else None
    return {
        "segment": firing.payload.get("segment"),
        "last_order_at": last.isoformat() if last else None,
        "days_since_last_order": (now - last).days if last else None,
    }


def _order(session: Session, firing: TriggerFiring) -> Order:
    order = session.get(Order, firing.payload.get("order_id"))
    if order is None:
        raise Gone("the order no longer exists")
    return order


def _welcome(session: Session, firing: TriggerFiring, now: datetime) -> Fields:
    order = _order(session, firing)
    return {
        "order_id": order.platform_id,
        "order_name": order.name,
        "order_value": format_minor(order.total_minor, order.currency),
        "currency": order.currency,
    }


def _follow_up(session: Session, firing: TriggerFiring, now: datetime) -> Fields:
    order = _order(session, firing)
    product_type = str(firing.payload.get("product_type") or "")
    titles = session.scalars(
        select(OrderLine.title)
        .join(
            Product,
            (Product.shop_id == OrderLine.shop_id)
            & (Product.platform_id == OrderLine.product_platform_id),
        )
        .where(OrderLine.order_id == order.id, Product.product_type_cf == casefold(product_type))
        .order_by(OrderLine.id)
    )
    ordered = order.ordered_at
    return {
        "product_type": product_type,
        "order_id": order.platform_id,
        "order_name": order.name,
        "ordered_at": ordered.isoformat() if ordered else None,
        "days_since_purchase": (now - ordered).days if ordered else None,
        "products": [t for t in titles if t],
    }


FIELDS: dict[str, Callable[[Session, TriggerFiring, datetime], Fields]] = {
    c.ABANDONED_CHECKOUT: _abandoned,
    c.REACTIVATION: _reactivation,
    c.WELCOME: _welcome,
    c.CATEGORY_FOLLOW_UP: _follow_up,
}


def fields_of(session: Session, firing: TriggerFiring, now: datetime) -> Fields:
    """The trigger's fields as of now; raises Gone when their subject was deleted."""
    return FIELDS[firing.name](session, firing, now)


# --- Flow ---------------------------------------------------------------------------------


def _lines(items: list[dict[str, Any]]) -> str:
    return "\n".join(f"{i.get('quantity')} x {i.get('title')}" for i in items)


def _number(value: str | None) -> float | None:
    return float(value) if value is not None else None


FLOW_FIELDS: dict[str, dict[str, Callable[[Fields], Any]]] = {
    c.ABANDONED_CHECKOUT: {
        "Recovery URL": lambda f: f["recovery_url"],
        "Cart value": lambda f: _number(f["cart_value"]),
        "Currency": lambda f: f["currency"],
        "Line items": lambda f: _lines(f["line_items"]),
        "Reminder step": lambda f: f["step"],
    },
    c.REACTIVATION: {
        "Segment": lambda f: f["segment"],
        "Days since last order": lambda f: f["days_since_last_order"],
    },
    c.WELCOME: {
        "Order name": lambda f: f["order_name"],
        "Order value": lambda f: _number(f["order_value"]),
        "Currency": lambda f: f["currency"],
    },
    c.CATEGORY_FOLLOW_UP: {
        "Product type": lambda f: f["product_type"],
        "Days since purchase": lambda f: f["days_since_purchase"],
        "Order name": lambda f: f["order_name"],
        "Products": lambda f: "\n".join(f["products"]),
    },
}


def flow_payload(name: str, trigger_id: str, customer_platform_id: str, fields: Fields) -> Fields:
    """The `payload` of flowTriggerReceive: the reference key, then the declared fields."""
    body: Fields = {"customer_id": int(customer_platform_id), "Trigger ID": trigger_id}
    for key, value in FLOW_FIELDS[name].items():
        found = value(fields)
        if found is not None:  # Flow rejects a null where the field's type is expected
            body[key] = found
    return body


# --- outbound webhook ---------------------------------------------------------------------


def customer_gid(platform_id: str | None) -> str | None:
    return f"{CUSTOMER_GID}{platform_id}" if platform_id else None


def webhook_body(
    shop: Shop,
    firing: TriggerFiring,
    customer: Customer | None,
    fields: Fields,
    now: datetime,
    personal: Sequence[str] = (),
) -> Fields:
    """The documented outbound webhook JSON (docs/triggers.md): ids only, plus the personal
    fields the merchant chose (`general webhook_personal_fields`)."""
    person = None
    if customer is not None:
        person = {
            "id": customer_gid(customer.platform_id),
            "email_marketing_state": customer.email_marketing_state,
            **{name: getattr(customer, name) for name in personal},
        }
    body: Fields = {
        "trigger_id": firing.trigger_id,
        "trigger": firing.name,
        "flow_handle": c.flow_trigger(firing.name).handle,
        "shop": shop.domain,
        "fired_at": now.isoformat(),
        "customer": person,
        "fields": {k: v for k, v in fields.items() if k != "email"},
    }
    if "email" in personal:  # the address to write to: the customer's, or a guest checkout's
        body["email"] = customer.email if customer else fields.get("email")
    return body


def raw_body(body: Fields) -> bytes:
    """The exact bytes sent (stable across retries, so each attempt has the same signature)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, raw: bytes) -> str:
    """`X-ShopSegments-Signature`: base64 of HMAC-SHA256 of the raw body with the secret,
    the same scheme as Shopify's own webhook signature."""
    return webhook_hmac(secret, raw)
