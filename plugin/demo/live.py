"""The demo shop's live traffic: orders, sign-ups and checkouts, a few a minute, each kept at
the simulator (so a reconcile agrees) and sent to the app as Shopify's signed webhook."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from plugin.demo.cdnow_shop import (
    CURRENCY,
    CUSTOMER_ID_BASE,
    ORDER_ID_BASE,
    SHOP,
    email_of,
    person,
    split_purchase,
)
from plugin.platforms.shopify.simulator.customers import SimCustomer
from plugin.platforms.shopify.simulator.history import SimLine, SimOrder, customer_webhooks, iso
from plugin.platforms.shopify.simulator.server import SimulatorHandle

# Past every CDNOW id, so live customers and orders never collide with imported ones.
FIRST_LIVE_CUSTOMER = CUSTOMER_ID_BASE + 100_000
FIRST_LIVE_ORDER = ORDER_ID_BASE + 1_000_000
# (event, weight): what the shop's live traffic is made of.
EVENTS: tuple[tuple[str, int], ...] = (
    ("repeat_order", 40),
    ("sign_up", 20),
    ("first_order", 15),
    ("abandoned_cart", 15),
    ("recovered_cart", 10),
)


@dataclass
class Counters:
    """Ids handed out so far (kept in the snapshot so a second run continues)."""

    next_customer: int = FIRST_LIVE_CUSTOMER
    next_order: int = FIRST_LIVE_ORDER
    pending_carts: list[tuple[str, str]] = field(default_factory=list)  # (token, customer id)


class LiveShop:
    """Makes one event at a time for the demo shop; `step()` returns what happened, in words."""

    def __init__(self, simulator: SimulatorHandle, counters: Counters, seed: int | None = None):
        self.simulator = simulator
        self.state = simulator.state
        self.counters = counters
        self.rng = random.Random(seed)

    def step(self, now: datetime | None = None) -> str:
        now = (now or datetime.now(UTC)).replace(microsecond=0)
        if self.counters.pending_carts and self.rng.random() < 0.5:
            return self.complete_cart(now)
        kind = self.rng.choices([k for k, _ in EVENTS], [w for _, w in EVENTS])[0]
        event: Callable[[datetime], str] = getattr(self, kind)
        return event(now)

    # --- events -------------------------------------------------------------------------

    def repeat_order(self, now: datetime) -> str:
        customer = self._existing_customer()
        order = self._place_order(customer, now)
        return f"order {order.order_id} by returning customer {_name(customer)}: {_total(order)}"

    def sign_up(self, now: datetime) -> str:
        customer = self._new_customer(now)
        return f"sign-up: {_name(customer)} ({customer.address[2] if customer.address else '-'})"

    def first_order(self, now: datetime) -> str:
        customer = self._new_customer(now)
        order = self._place_order(customer, now)
        return f"first order {order.order_id} by new customer {_name(customer)}: {_total(order)}"

    def abandoned_cart(self, now: datetime, *, hours_ago: float = 0.0) -> str:
        """A checkout left unfinished; with `hours_ago` it was started that long ago."""
        customer = self._existing_customer()
        started = now - timedelta(hours=hours_ago)
        token = secrets.token_hex(16)
        lines = self._lines(Decimal(self.rng.randint(1500, 9000)) / 100)
        self._send("checkouts/create", _checkout(token, customer, lines, started, None))
        if not hours_ago:
            self.counters.pending_carts.append((token, customer.customer_id))
        return f"checkout started by {_name(customer)} ({len(lines)} products), not finished"

    def recovered_cart(self, now: datetime) -> str:
        self.abandoned_cart(now)
        return self.complete_cart(now + timedelta(seconds=1))

    def complete_cart(self, now: datetime) -> str:
        token, customer_id = self.counters.pending_carts.pop(0)
        customer = self.state.customer(SHOP, customer_id)
        assert customer is not None
        order = self._place_order(customer, now)
        completed = _checkout(token, customer, order.lines, now, now)
        self._send("checkouts/update", completed)
        return f"checkout of {_name(customer)} completed as order {order.order_id}"

    # --- pieces -------------------------------------------------------------------------

    def _existing_customer(self) -> SimCustomer:
        customers = self.state.customers.by_shop[SHOP]
        while True:  # CDNOW's ids are dense from 1: a few draws find one
            number = self.rng.randint(1, 23_570)
            found = customers.get(str(CUSTOMER_ID_BASE + number))
            if found is not None and found.email:
                return found

    def _new_customer(self, now: datetime) -> SimCustomer:
        cid = self.counters.next_customer
        self.counters.next_customer += 1
        first, last, place, locale = person(self.rng)
        consent = "SUBSCRIBED" if self.rng.random() < 0.7 else "NOT_SUBSCRIBED"
        customer = self.state.add_customer(
            SHOP,
            cid,
            email=email_of(first, last, cid - CUSTOMER_ID_BASE),
            email_marketing_state=consent,
            first_name=first,
            last_name=last,
        )
        customer.created_at = customer.updated_at = iso(now)
        customer.address, customer.locale, customer.currency = place, locale, CURRENCY
        customer.email_opt_in_level = "SINGLE_OPT_IN"
        customer.email_consent_updated_at = iso(now)
        for topic, payload, _ in customer_webhooks(customer):
            self._send(topic, payload)
        return customer

    def _lines(self, dollars: Decimal) -> list[SimLine]:
        products = list(self.state.products[SHOP])
        cds = self.rng.choice((1, 1, 2, 3))
        return [
            SimLine(secrets.token_hex(4), pid, f"CD {pid[-2:]}", None, quantity, price)
            for pid, quantity, price in split_purchase(cds, dollars, products, self.rng)
        ]

    def _place_order(self, customer: SimCustomer, now: datetime) -> SimOrder:
        oid = str(self.counters.next_order)
        self.counters.next_order += 1
        lines = self._lines(Decimal(self.rng.randint(1000, 12000)) / 100)
        for k, line in enumerate(lines):
            line.line_id = f"{oid}{k}"
        order = SimOrder(
            oid, customer.customer_id, customer.email, now, now, lines, currency=CURRENCY
        )
        order.locale = customer.locale
        self.state.add_order(SHOP, order)
        customer.number_of_orders += 1
        customer.amount_spent = str(Decimal(customer.amount_spent) + order.subtotal)
        self._send("orders/create", order.webhook(customer))
        return order

    def _send(self, topic: str, payload: Any) -> None:
        self.simulator.send_webhook(SHOP, topic, payload)


def _checkout(
    token: str,
    customer: SimCustomer,
    lines: list[SimLine],
    at: datetime,
    completed: datetime | None,
) -> dict[str, Any]:
    """A checkout payload of API 2026-04 (keyed by token, no id)."""
    total = sum((Decimal(line.price) * line.quantity for line in lines), Decimal(0))
    return {
        "token": token,
        "cart_token": token[:16],
        "email": customer.email,
        "currency": CURRENCY,
        "presentment_currency": CURRENCY,
        "customer_locale": customer.locale,
        "total_price": str(total),
        "abandoned_checkout_url": f"https://{SHOP}/checkouts/{token}/recover",
        "created_at": iso(at),
        "updated_at": iso(completed or at),
        "completed_at": iso(completed) if completed else None,
        "line_items": [
            {
                "product_id": int(line.product_id) if line.product_id else None,
                "variant_id": None,
                "title": line.title,
                "vendor": line.vendor,
                "quantity": line.quantity,
                "price": line.price,
            }
            for line in lines
        ],
        "customer": {
            "id": int(customer.customer_id),
            "admin_graphql_api_id": customer.gid,
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
        },
    }


def _name(customer: SimCustomer) -> str:
    return f"{customer.first_name} {(customer.last_name or '')[:1]}."


def _total(order: SimOrder) -> str:
    return f"{order.subtotal:.2f} {order.currency}"
