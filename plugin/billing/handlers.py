"""Event handlers of the billing package: the platform's subscription updates."""

from __future__ import annotations

from sqlalchemy.orm import Session

from plugin.billing.services import Subscription, record_subscription
from plugin.events import AppSubscriptionChanged, Delivery, Event
from plugin.handling import Context, Handler
from plugin.shops.models import Shop


def apply_subscription_changed(
    session: Session, shop: Shop, event: Event, delivery: Delivery, ctx: Context
) -> None:
    assert isinstance(event, AppSubscriptionChanged)
    sub = Subscription(event.subscription_id, event.name, event.status, event.updated_at)
    record_subscription(session, shop, sub, ctx.now)


HANDLERS: dict[type[Event], Handler] = {AppSubscriptionChanged: apply_subscription_changed}
