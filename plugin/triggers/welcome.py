"""The welcome trigger: a customer's first order, when it happens live after install.

"Live" means the order was placed after the app was installed and reached the worker
within `LIVE_WINDOW` of being placed. History (a backfill, an old delivery replayed, an
order from before install) fails one of the two and never welcomes anyone. A first order
that is not welcomed is kept as a skipped firing saying exactly why.
"""

from __future__ import annotations

from datetime import datetime, timedelta

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
    if order.customer_id is None or order.test or order.cancelled_at:
        return
    customer = session.get(Customer, order.customer_id)
    if customer is None or not _first_known(customer, order):
        return
    if not trigger_settings.load(session, shop.id, WELCOME)["enabled"]:
        return
    key = f"welcome:{customer.id}"  # once per customer, ever
    why = f"first order {order.name or order.platform_id}"
    reason = not_welcomed_because(shop, customer, order, now)
    if reason is not None:
        skip = firings.Skip(key, customer.id, why, reason, {"order_id": order.id})
        firings.record_skipped(session, shop.id, WELCOME, [skip], now)
        return
    firings.schedule(
        session,
        shop.id,
        WELCOME,
        key,
        due_at=now,
        why=why,
        now=now,
        customer_id=customer.id,
        payload={"order_id": order.id},
    )


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
