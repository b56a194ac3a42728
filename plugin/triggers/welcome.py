"""The welcome trigger: a customer's first order, when it happens live after install.

"Live" means the order was placed after the app was installed and reached the worker
within `LIVE_WINDOW` of being placed. History (a backfill, an old delivery replayed, an
order from before install) fails one of the two and never welcomes anyone. A first order
that is not welcomed is kept as a skipped firing saying exactly why.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.profiles.models import Customer, Order
from plugin.segments.evaluator_realtime import LIVE_WINDOW
from plugin.shops.models import Shop
from plugin.triggers import firings
from plugin.triggers import settings as trigger_settings
from plugin.triggers.catalogue import WELCOME


def is_live(shop: Shop, placed_at: datetime | None, now: datetime) -> bool:
    """Placed after install, and seen within the live window of being placed."""
    if placed_at is None or shop.installed_at is None:
        return False
    return shop.installed_at <= placed_at and now - placed_at <= LIVE_WINDOW


def order_seen(session: Session, shop: Shop, order: Order, now: datetime) -> None:
    """Schedule the welcome if this order is its customer's first, placed live; record
    why not when it is the first order we know of but may not be welcomed."""
    orders_seen(session, shop, [order], now)


def orders_seen(session: Session, shop: Shop, orders: Sequence[Order], now: datetime) -> None:
    """`order_seen` for many orders of distinct customers: their customers read in one
    query, the welcomes and skips written in one statement each."""
    candidates = [o for o in orders if o.customer_id is not None and not o.test]
    candidates = [o for o in candidates if not o.cancelled_at]
    if not candidates:
        return
    customers = {
        c.id: c
        for c in session.scalars(
            select(Customer).where(Customer.id.in_(sorted({o.customer_id for o in candidates})))
        )
    }
    firsts = [
        (customers[o.customer_id], o)
        for o in candidates
        if o.customer_id in customers and _first_known(customers[o.customer_id], o)
    ]
    if not firsts or not trigger_settings.load(session, shop.id, WELCOME)["enabled"]:
        return
    skips, dues = [], []
    for customer, order in firsts:
        key = f"welcome:{customer.id}"  # once per customer, ever
        why = f"first order {order.name or order.platform_id}"
        reason = not_welcomed_because(shop, customer, order, now)
        if reason is not None:
            skips.append(firings.Skip(key, customer.id, why, reason, {"order_id": order.id}))
        else:
            dues.append(firings.Due(key, customer.id, why, now, {"order_id": order.id}))
    firings.record_skipped(session, shop.id, WELCOME, skips, now)
    firings.schedule_many(session, shop.id, WELCOME, dues, now)


def not_welcomed_because(shop: Shop, customer: Customer, order: Order, now: datetime) -> str | None:
    """Why the first order we know of gets no welcome, in the merchant's words; None: it does."""
    installed, placed = shop.installed_at, order.ordered_at
    if installed is None or placed is None:
        return "the order or the app's install has no date"
    if placed < installed:
        return (
            f"order placed before the app was installed "
            f"(placed {_day(placed)}, installed {_day(installed)})"
        )
    if now - placed > LIVE_WINDOW:
        late = _span(now - placed)
        return f"order reached the app {late} after it was placed (history, not a live order)"
    if (customer.reported_orders_count or 0) > 1:
        return f"not the customer's first order: Shopify counts {customer.reported_orders_count}"
    created = customer.platform_created_at
    if created is not None and created < installed and customer.reported_orders_count is None:
        # Orders from before install are unknown here: an old customer may have bought before.
        return (
            f"customer existed before the app was installed "
            f"(created {_day(created)}, installed {_day(installed)})"
        )
    return None


def _first_known(customer: Customer, order: Order) -> bool:
    """The customer's first order among those the app has stored."""
    return customer.orders_count == 1 and customer.first_order_at == order.ordered_at


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


def _span(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24} days" if hours >= 48 else f"{hours} hours"
