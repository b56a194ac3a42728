"""The welcome trigger: a customer's first order, when it happens live after install.

"Live" means the order was placed after the app was installed and reached the worker
within `LIVE_WINDOW` of being placed. History (a backfill, an old delivery replayed, an
order from before install) fails one of the two and never welcomes anyone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from plugin.profiles.models import Customer, Order
from plugin.shops.models import Shop
from plugin.triggers import firings
from plugin.triggers import settings as trigger_settings
from plugin.triggers.catalogue import WELCOME

# Shopify retries a failed webhook for up to 48 hours; a delivery later than that is history.
LIVE_WINDOW = timedelta(hours=48)


def is_live(shop: Shop, placed_at: datetime | None, now: datetime) -> bool:
    """Placed after install, and seen within the live window of being placed."""
    if placed_at is None or shop.installed_at is None:
        return False
    return shop.installed_at <= placed_at and now - placed_at <= LIVE_WINDOW


def order_seen(session: Session, shop: Shop, order: Order, now: datetime) -> None:
    """Schedule the welcome if this order is its customer's first, placed live."""
    if order.customer_id is None or order.test or order.cancelled_at:
        return
    customer = session.get(Customer, order.customer_id)
    if (
        customer is None
        or not _first_order(customer, order)
        or not is_live(shop, order.ordered_at, now)
    ):
        return
    if not trigger_settings.load(session, shop.id, WELCOME)["enabled"]:
        return
    firings.schedule(
        session,
        shop.id,
        WELCOME,
        f"welcome:{customer.id}",  # once per customer, ever
        due_at=now,
        why=f"first order {order.name or order.platform_id}",
        now=now,
        customer_id=customer.id,
        payload={"order_id": order.id},
    )


def _first_order(customer: Customer, order: Order) -> bool:
    # Shopify's own count (purchasing summary) knows orders from before install; ours may not.
    if (customer.reported_orders_count or 0) > 1:
        return False
    return customer.orders_count == 1 and customer.first_order_at == order.ordered_at
