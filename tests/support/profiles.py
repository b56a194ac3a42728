"""Test fixtures for the profile store: example payloads with exact ids, and applying them.

    def test_x(apply, shop, session) -> None:
        apply("orders/create", order_payload("1001", customer="7", total="10.00"))

- `load_example(topic)`: the examples-2026-04 payload of a topic, with the numeric ids that
  lost precision in the files repaired from the GIDs (top-level, `customer`, line items,
  `default_address.customer_id`, a refund's `order_id`, a consent's `customer_id`).
- `apply_payload(session, shop, topic, payload, settings=…, now=…, …)`: the payload through
  the Shopify adapter and `plugin.handlers.dispatch`, then commit (the worker's unit of work).
- `make_shop(session, domain)`, and payload builders for scripted histories.
- Fixtures: `shop` (an installed shop), `apply` (apply_payload bound to session, shop and
  settings), `profile_now` (the frozen clock `apply` uses unless given `now`).
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from plugin.events import Delivery, Event
from plugin.handlers import Context, dispatch
from plugin.platforms.shopify.adapter import ShopifyAdapter
from plugin.settings import Settings
from plugin.shops.models import INSTALLED, Shop

# Vendored in the repository with a provenance note (tests/fixtures/README.md).
FIXTURE_ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "shopify"
EXAMPLES = FIXTURE_ROOT / "examples-2026-04"
EXEMPLARS = FIXTURE_ROOT / "exemplars-2025-04"
GID = re.compile(r"gid://shopify/[A-Za-z]+/([0-9]+)")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def topic_file(topic: str) -> str:
    return topic.replace("/", "_").replace(".", "_") + ".json"


@cache
def _exact_ids() -> dict[int, int]:
    """Every GID's exact id, keyed by the number the example files show: the shortest
    decimal of the nearest float, as JavaScript printed it (820982911946154508 → …500)."""
    seen: dict[int, set[int]] = {}
    for path in EXAMPLES.glob("*.json"):
        for digits in GID.findall(path.read_text()):
            exact = int(digits)
            seen.setdefault(int(Decimal(repr(float(exact)))), set()).add(exact)
    return {rounded: exact.pop() for rounded, exact in seen.items() if len(exact) == 1}


def repair_ids(value: Any) -> Any:
    """Replace rounded numeric ids by the exact ones: a dict's own GID first, then any
    `id`/`*_id` integer whose rounded value matches exactly one GID in the examples."""
    if isinstance(value, list):
        return [repair_ids(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {key: repair_ids(v) for key, v in value.items()}
    own = GID.fullmatch(str(out.get("admin_graphql_api_id") or ""))
    for key, v in out.items():
        if isinstance(v, int) and not isinstance(v, bool) and (key == "id" or key.endswith("_id")):
            out[key] = _exact_ids().get(v, v)
    if own is not None and isinstance(out.get("id"), int):
        out["id"] = int(own.group(1))
    return out


def load_example(topic: str) -> dict[str, Any]:
    document = json.loads((EXAMPLES / topic_file(topic)).read_text())
    return repair_ids(document["payload"])


def example_topics() -> list[str]:
    return sorted(json.loads(p.read_text())["topic"] for p in EXAMPLES.glob("*.json"))


def make_shop(session: Session, domain: str = "alpha.myshopify.com") -> Shop:
    shop = Shop(domain=domain, install_state=INSTALLED, currency="USD", timezone="UTC")
    session.add(shop)
    session.commit()
    return shop


def apply_payload(
    session: Session,
    shop: Shop,
    topic: str,
    payload: dict[str, Any],
    *,
    settings: Settings,
    now: datetime = NOW,
    triggered_at: datetime | None = None,
    webhook_id: str | None = None,
    api_version: str = "2026-04",
) -> list[Event]:
    """One delivery through the adapter and the handlers, committed like the worker does."""
    delivery = Delivery(
        inbox_id=0,
        topic=topic,
        webhook_id=webhook_id or str(uuid.uuid4()),
        event_id=None,
        triggered_at=triggered_at or now,
    )
    events = ShopifyAdapter().events_from_delivery(delivery, api_version, payload)
    ctx = Context(settings, now)
    for event in events:
        dispatch(session, shop, event, delivery, ctx)
    session.commit()
    return events


@pytest.fixture
def shop(session: Session) -> Shop:
    return make_shop(session)


@pytest.fixture
def apply(session: Session, shop: Shop, settings: Settings) -> Callable[..., list[Event]]:
    def run(topic: str, payload: dict[str, Any], **kwargs: Any) -> list[Event]:
        target = kwargs.pop("shop", shop)
        return apply_payload(session, target, topic, payload, settings=settings, **kwargs)

    return run


# --- payload builders for scripted histories ------------------------------------------------


def iso(moment: datetime | str) -> str:
    return moment if isinstance(moment, str) else moment.isoformat()


def money(amount: str, currency: str = "USD") -> dict[str, Any]:
    return {
        "shop_money": {"amount": amount, "currency_code": currency},
        "presentment_money": {"amount": amount, "currency_code": currency},
    }


def customer_partial(customer_id: str, email: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": int(customer_id),
        "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
        "email": email,
        "first_name": extra.pop("first_name", None),
        "last_name": extra.pop("last_name", None),
        "phone": None,
        "state": "enabled",
        "verified_email": True,
        "created_at": None,
        "updated_at": None,
        **extra,
    }


def line_item(
    product_id: str | None, price: str, quantity: int = 1, vendor: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "id": extra.pop("id", 1),
        "product_id": int(product_id) if product_id else None,
        "variant_id": None,
        "title": extra.pop("title", "item"),
        "vendor": vendor,
        "quantity": quantity,
        "price": price,
        "price_set": money(price),
        "total_discount_set": money(extra.pop("discount", "0.00")),
        "discount_allocations": [],
        **extra,
    }


def order_payload(
    order_id: str,
    *,
    customer: str | None,
    total: str,
    updated_at: datetime | str,
    lines: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """An orders/* payload; `fields` override top-level keys (e.g. `test=True`)."""
    email = fields.pop("email", f"c{customer}@example.com" if customer else None)
    processed = fields.pop("processed_at", updated_at)
    payload = {
        "id": int(order_id),
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "email": email,
        "name": f"#{order_id}",
        "currency": "USD",
        "current_total_price_set": money(total),
        "total_price_set": money(fields.pop("original_total", total)),
        "total_discounts_set": money(fields.pop("discounts", "0.00")),
        "financial_status": "paid",
        "cancelled_at": None,
        "test": False,
        "source_name": "web",
        "discount_codes": [],
        "checkout_token": None,
        "cart_token": None,
        "refunds": [],
        "customer_locale": "en",
        "processed_at": iso(processed),
        "created_at": iso(processed),
        "updated_at": iso(updated_at),
        "line_items": lines if lines is not None else [line_item(None, total)],
        "customer": customer_partial(customer, email) if customer else None,
    }
    payload.update(fields)
    return payload


def refund_payload(
    refund_id: str, order_id: str, amount: str, created_at: datetime | str
) -> dict[str, Any]:
    return {
        "id": int(refund_id),
        "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
        "order_id": int(order_id),
        "created_at": iso(created_at),
        "processed_at": iso(created_at),
        "refund_line_items": [
            {"subtotal_set": money(amount), "total_tax_set": money("0.00"), "quantity": 1}
        ],
        "refund_shipping_lines": [],
        "order_adjustments": [],
        "transactions": [],
    }


def customer_payload(
    customer_id: str, *, updated_at: datetime | str, email: str | None = None, **fields: Any
) -> dict[str, Any]:
    payload = copy.deepcopy(load_example("customers/update"))
    payload.update(
        id=int(customer_id),
        admin_graphql_api_id=f"gid://shopify/Customer/{customer_id}",
        email=email,
        updated_at=iso(updated_at),
    )
    payload["default_address"]["customer_id"] = int(customer_id)
    payload.update(fields)
    return payload


def checkout_payload(
    token: str,
    *,
    customer: str | None,
    total: str,
    updated_at: datetime | str,
    **fields: Any,
) -> dict[str, Any]:
    payload = copy.deepcopy(load_example("checkouts/update"))
    payload.update(
        token=token,
        cart_token=f"cart-{token}",
        total_price=total,
        created_at=iso(fields.pop("created_at", updated_at)),
        updated_at=iso(updated_at),
        completed_at=None,
        customer=customer_partial(customer, f"c{customer}@example.com") if customer else None,
        email=f"c{customer}@example.com" if customer else fields.pop("email", None),
    )
    payload.update(fields)
    return payload


def product_payload(
    product_id: str,
    *,
    product_type: str | None,
    vendor: str | None,
    updated_at: datetime | str,
    tags: str = "",
    category: str | None = None,
) -> dict[str, Any]:
    """A products/* payload as Shopify's REST webhook sends it (tags comma-separated;
    `category` a taxonomy id such as `aa-1-13`, sent as its GID with its names)."""
    taxonomy = None
    if category:
        gid = f"gid://shopify/TaxonomyCategory/{category}"
        taxonomy = {"admin_graphql_api_id": gid, "name": category, "full_name": category}
    return {
        "id": int(product_id),
        "admin_graphql_api_id": f"gid://shopify/Product/{product_id}",
        "title": f"Product {product_id}",
        "body_html": "<p>…</p>",
        "vendor": vendor,
        "product_type": product_type,
        "created_at": iso(updated_at),
        "updated_at": iso(updated_at),
        "handle": f"product-{product_id}",
        "status": "active",
        "tags": tags,
        "variants": [],
        "options": [],
        "images": [],
        "category": taxonomy,
    }
