"""The category follow-up trigger: N days after a purchase in the chosen product type.

Found by the scan from purchases (product types are often learnt after the order, by the
product lookup job), once per order (dedupe key `follow_up:<order>:<type>`). Purchases
placed before install are history and never followed up; a purchase whose day came while
no scan ran is still caught up to `CATCH_UP` late.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.profiles.models import Purchase
from plugin.profiles.products import casefold
from plugin.shops.models import Shop
from plugin.triggers import firings
from plugin.triggers import settings as trigger_settings
from plugin.triggers.catalogue import CATEGORY_FOLLOW_UP

CATCH_UP = timedelta(days=1)


def discover(session: Session, shop: Shop, now: datetime) -> int:
    """Schedule the follow-ups whose day has come; returns how many are new."""
    values = trigger_settings.load(session, shop.id, CATEGORY_FOLLOW_UP)
    product_type = casefold(values["product_type"])
    if not values["enabled"] or product_type is None or shop.installed_at is None:
        return 0
    latest = now - timedelta(days=values["days"])
    earliest = max(latest - CATCH_UP, shop.installed_at)
    stmt = (
        select(Purchase.customer_id, Purchase.order_id, func.min(Purchase.ordered_at).label("at"))
        .where(
            Purchase.shop_id == shop.id,
            Purchase.product_type_cf == product_type,
            Purchase.ordered_at > earliest,
            Purchase.ordered_at <= latest,
        )
        .group_by(Purchase.customer_id, Purchase.order_id)
    )
    rows = {f"follow_up:{r.order_id}:{product_type}": r for r in session.execute(stmt)}
    # The scan runs every minute over a day's purchases: only orders not followed up yet
    # cost an insert (the unique dedupe key still settles races between workers).
    scheduled = firings.existing_keys(session, shop.id, list(rows))
    new = 0
    for key, row in rows.items():
        if key in scheduled:
            continue
        new += firings.schedule(
            session,
            shop.id,
            CATEGORY_FOLLOW_UP,
            key,
            due_at=now,
            why=f"bought {values['product_type']} {values['days']} days ago",
            now=now,
            customer_id=row.customer_id,
            payload={"order_id": row.order_id, "product_type": values["product_type"]},
        )
    return new
