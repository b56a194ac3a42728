"""Where triggers hear about applied events: the worker calls `after_events` per delivery.

It runs after the handlers, in the delivery's savepoint, so it reads the stored checkout
or order (resolved customer, recovery URL) and rolls back with the delivery if it fails.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from plugin import events as ev
from plugin.profiles.models import Order
from plugin.shops.models import Shop
from plugin.triggers import journeys, welcome
from plugin.triggers.catalogue import CANCELLED, PENDING_STATES
from plugin.triggers.models import CheckoutJourney, TriggerFiring

Hook = Callable[[Session, Shop, ev.Event, datetime], None]


def _checkout(session: Session, shop: Shop, event: ev.Event, now: datetime) -> None:
    assert isinstance(event, ev.CheckoutUpserted)
    journeys.checkout_seen(session, shop.id, event.checkout.token, now)


def _order(session: Session, shop: Shop, event: ev.Event, now: datetime) -> None:
    assert isinstance(event, ev.OrderUpserted)
    order = session.scalar(
        select(Order).where(Order.shop_id == shop.id, Order.platform_id == event.order.platform_id)
    )
    if order is None:
        return
    journeys.order_seen(session, shop.id, order, now)
    welcome.order_seen(session, shop, order, now)


def _checkout_deleted(session: Session, shop: Shop, event: ev.Event, now: datetime) -> None:
    assert isinstance(event, ev.CheckoutDeleted)
    if event.token:
        journeys.checkout_deleted(session, shop.id, event.token, now)


def _uninstalled(session: Session, shop: Shop, event: ev.Event, now: datetime) -> None:
    """Nothing pending survives an uninstall: a reinstall starts from fresh events."""
    session.execute(
        update(TriggerFiring)
        .where(TriggerFiring.shop_id == shop.id, TriggerFiring.state.in_(PENDING_STATES))
        .values(state=CANCELLED, detail="app uninstalled", updated_at=now)
    )
    session.execute(
        update(CheckoutJourney)
        .where(CheckoutJourney.shop_id == shop.id, CheckoutJourney.state.in_(journeys.OPEN_STATES))
        .values(state=journeys.EXPIRED, closed_at=now, next_step_at=None, updated_at=now)
    )


HOOKS: dict[type[ev.Event], Hook] = {
    ev.CheckoutUpserted: _checkout,
    ev.OrderUpserted: _order,
    ev.CheckoutDeleted: _checkout_deleted,
    ev.AppUninstalled: _uninstalled,
}


def after_generation(
    session: Session, shop: Shop, events: Sequence[ev.Event], now: datetime
) -> None:
    """`after_events` for the events of a worker generation (rows that share no customer,
    order or checkout): the orders' hooks set-based, the others one by one."""
    orders = [e for e in events if isinstance(e, ev.OrderUpserted)]
    after_events(session, shop, [e for e in events if not isinstance(e, ev.OrderUpserted)], now)
    if not orders:
        return
    stored = {
        o.platform_id: o
        for o in session.scalars(
            select(Order).where(
                Order.shop_id == shop.id,
                Order.platform_id.in_(sorted({e.order.platform_id for e in orders})),
            )
        )
    }
    seen = [stored[e.order.platform_id] for e in orders if e.order.platform_id in stored]
    journeys.orders_seen(session, shop.id, seen, now)
    welcome.orders_seen(session, shop, seen, now)


def after_events(session: Session, shop: Shop, events: Sequence[ev.Event], now: datetime) -> None:
    """Move journeys and schedule firings for one delivery's events (after its handlers)."""
    for event in events:
        hook = HOOKS.get(type(event))
        if hook is not None:
            hook(session, shop, event, now)
