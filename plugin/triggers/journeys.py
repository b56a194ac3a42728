"""The abandoned-checkout state machine, one journey per checkout token.

started → idle (the first reminder came due without activity) → abandoned (past the shop's
`abandoned_after_hours`, as profiles count it) → recovered (completed, or the customer
ordered) or expired (`expire_after_days` without activity, or the checkout was deleted).
Times come from the checkout itself (its `updated_at`), so a duplicated or late delivery
moves nothing, and each reminder step is one firing (dedupe key `checkout:<token>:<step>`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from plugin.db import insert_for
from plugin.profiles.models import Checkout, Order
from plugin.profiles.shop_settings import abandoned_after_hours
from plugin.triggers import firings
from plugin.triggers import settings as trigger_settings
from plugin.triggers.catalogue import ABANDONED_CHECKOUT
from plugin.triggers.models import CheckoutJourney

STARTED = "started"
IDLE = "idle"
ABANDONED = "abandoned"
RECOVERED = "recovered"
EXPIRED = "expired"
OPEN_STATES = (STARTED, IDLE, ABANDONED)


# --- events -------------------------------------------------------------------------------


def checkout_seen(session: Session, shop_id: int, token: str, now: datetime) -> None:
    """A checkout was created or updated: open or move its journey, or recover it."""
    checkout = _checkout(session, shop_id, token)
    if checkout is None:  # deleted, or a redacted person's: nothing to remind
        return
    if checkout.completed_at is not None:
        journey = _journey(session, shop_id, token)
        if journey is not None:
            recover(session, journey, "checkout completed", now)
        return
    activity = checkout.platform_updated_at or checkout.platform_created_at or now
    journey = _open_journey(session, shop_id, checkout, activity, now)
    journey.customer_id = checkout.customer_id
    if journey.state in OPEN_STATES and activity > journey.last_activity_at:
        # The customer is back in the checkout: later steps count from this activity.
        journey.last_activity_at = activity
        journey.state = STARTED
        journey.next_step_at = _next_moment(session, journey, now)
        journey.updated_at = now


def order_seen(session: Session, shop_id: int, order: Order, now: datetime) -> None:
    """An order recovers its own checkout and every open checkout its customer started before."""
    orders_seen(session, shop_id, [order], now)


def orders_seen(session: Session, shop_id: int, orders: Sequence[Order], now: datetime) -> None:
    """`order_seen` for many orders, in their order: one query for the open journeys any
    of them may recover (a journey goes to the first order that recovers it)."""
    live = [o for o in orders if o.cancelled_at is None and not o.test]
    tokens = sorted({o.checkout_token for o in live if o.checkout_token})
    owners = sorted({o.customer_id for o in live if o.customer_id is not None and o.ordered_at})
    if not tokens and not owners:
        return
    # Only the lists that hold something: an empty IN is no index term, and SQLite then
    # reads every journey of the shop to test the other side of the OR.
    found = [CheckoutJourney.checkout_token.in_(tokens)] if tokens else []
    found += [CheckoutJourney.customer_id.in_(owners)] if owners else []
    stmt = select(CheckoutJourney).where(
        CheckoutJourney.shop_id == shop_id,
        CheckoutJourney.state.in_(OPEN_STATES),
        or_(*found),
    )
    journeys = list(session.scalars(stmt.order_by(CheckoutJourney.id).with_for_update()))
    for order in live:
        for journey in journeys:
            if _recovers(order, journey):
                recover(session, journey, f"order {order.name or order.platform_id}", now)


def _recovers(order: Order, journey: CheckoutJourney) -> bool:
    if order.checkout_token is not None and journey.checkout_token == order.checkout_token:
        return True
    if order.customer_id is None or order.ordered_at is None:
        return False
    started = journey.started_at is None or journey.started_at <= order.ordered_at
    return journey.customer_id == order.customer_id and started


def checkout_deleted(session: Session, shop_id: int, token: str, now: datetime) -> None:
    journey = _journey(session, shop_id, token)
    if journey is not None and journey.state in OPEN_STATES:
        _close(session, journey, EXPIRED, "checkout deleted", now)


def recover(session: Session, journey: CheckoutJourney, why: str, now: datetime) -> None:
    if journey.state in OPEN_STATES:
        _close(session, journey, RECOVERED, f"recovered: {why}", now)


# --- time ---------------------------------------------------------------------------------


def advance(session: Session, journey: CheckoutJourney, now: datetime) -> None:
    """Move a due journey: expire it, or schedule the latest reminder step that came due."""
    values = trigger_settings.load(session, journey.shop_id, ABANDONED_CHECKOUT)
    if now >= journey.last_activity_at + timedelta(days=values["expire_after_days"]):
        _close(session, journey, EXPIRED, "expired without an order", now)
        return
    delays = trigger_settings.steps(values)
    due = [n for n, delay in enumerate(delays) if journey.last_activity_at + delay <= now]
    if due and due[-1] >= journey.step:
        # Steps missed while no worker ran are skipped: one reminder, the latest one.
        journey.step = due[-1] + 1
        if values["enabled"]:
            _schedule_step(session, journey, now)
        if journey.state == STARTED:
            journey.state = IDLE
    if journey.state == IDLE and now >= _abandoned_at(session, journey):
        journey.state = ABANDONED
    journey.next_step_at = _next_moment(session, journey, now)
    journey.updated_at = now


def due_journeys(session: Session, shop_id: int, now: datetime, limit: int) -> list[Any]:
    stmt = (
        select(CheckoutJourney)
        .where(
            CheckoutJourney.state.in_(OPEN_STATES),
            CheckoutJourney.shop_id == shop_id,
            CheckoutJourney.next_step_at <= now,
        )
        .order_by(CheckoutJourney.next_step_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def _schedule_step(session: Session, journey: CheckoutJourney, now: datetime) -> None:
    firings.schedule(
        session,
        journey.shop_id,
        ABANDONED_CHECKOUT,
        f"checkout:{journey.checkout_token}:{journey.step}",
        due_at=now,
        why=f"checkout idle since {journey.last_activity_at.isoformat()}, step {journey.step}",
        now=now,
        customer_id=journey.customer_id,
        checkout_token=journey.checkout_token,
        payload={"step": journey.step},
    )


def _next_moment(session: Session, journey: CheckoutJourney, now: datetime) -> datetime:
    """When this journey next needs the scan: its next step, abandonment or expiry."""
    values = trigger_settings.load(session, journey.shop_id, ABANDONED_CHECKOUT)
    moments = [journey.last_activity_at + timedelta(days=values["expire_after_days"])]
    delays = trigger_settings.steps(values)
    if journey.step < len(delays):
        moments.append(journey.last_activity_at + delays[journey.step])
    if journey.state == IDLE:
        moments.append(_abandoned_at(session, journey))
    return min(moments)


def _abandoned_at(session: Session, journey: CheckoutJourney) -> datetime:
    hours = abandoned_after_hours(session, journey.shop_id)
    return journey.last_activity_at + timedelta(hours=hours)


def _close(session: Session, journey: CheckoutJourney, state: str, why: str, now: datetime) -> None:
    journey.state = state
    journey.closed_at = now
    journey.next_step_at = None
    journey.updated_at = now
    related = firings.of_checkout(session, journey.shop_id, journey.checkout_token)
    firings.cancel(session, journey.shop_id, related, why, now)


def _checkout(session: Session, shop_id: int, token: str) -> Checkout | None:
    stmt = select(Checkout).where(Checkout.shop_id == shop_id, Checkout.token == token)
    return session.scalar(stmt)


def _journey(session: Session, shop_id: int, token: str) -> CheckoutJourney | None:
    stmt = select(CheckoutJourney).where(
        CheckoutJourney.shop_id == shop_id, CheckoutJourney.checkout_token == token
    )
    return session.scalar(stmt.with_for_update())


def _open_journey(
    session: Session, shop_id: int, checkout: Checkout, activity: datetime, now: datetime
) -> CheckoutJourney:
    """The checkout's journey, created in state started if new (concurrent-safe)."""
    started = checkout.platform_created_at or activity
    values = {
        "shop_id": shop_id,
        "checkout_token": checkout.token,
        "customer_id": checkout.customer_id,
        "state": STARTED,
        "step": 0,
        "started_at": started,
        "last_activity_at": activity,
        "next_step_at": None,
        "created_at": now,
        "updated_at": now,
    }
    stmt = insert_for(session, CheckoutJourney).values(**values)
    created = session.execute(
        stmt.on_conflict_do_nothing(index_elements=["shop_id", "checkout_token"])
    )
    journey = _journey(session, shop_id, checkout.token)
    assert journey is not None  # just inserted or already there
    if created.rowcount:  # type: ignore[attr-defined]
        journey.next_step_at = _next_moment(session, journey, now)
    return journey
