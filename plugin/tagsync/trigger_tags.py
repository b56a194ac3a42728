"""Short-lived trigger tags (e.g. `seg:cart-reminder`): owned and pushed when a firing
records one, and taken off again once its time has run out."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.tagsync.desired import TAGGED_STATES, plan_customers
from plugin.tagsync.drift import left_alone
from plugin.tagsync.listener import queue_tag_work
from plugin.tagsync.tags import own_tag
from plugin.triggers.models import TriggerFiring

# How far back the scan looks for tags that ran out; anything older (no scan ran for a
# day) is drift, and the next drift repair takes it off.
EXPIRY_LOOKBACK = timedelta(days=1)
EXPIRED = "trigger tag expired"


def tag_recorded(
    session: Session, shop_id: int, customer_id: int, tag: str, why: str, now: datetime
) -> None:
    """A firing asks for `tag` on the customer: own it, and queue the customer's tag row."""
    own_tag(session, shop_id, tag)
    queue_tag_work(session, shop_id, {customer_id: why}, now)


def tag_dropped(session: Session, shop_id: int, customer_id: int, why: str, now: datetime) -> None:
    """A tagged firing was cancelled: its tag no longer counts; the tag row takes it off."""
    queue_tag_work(session, shop_id, {customer_id: why}, now)


def queue_expired(session: Session, shop_id: int, now: datetime) -> int:
    """Queue a tag row for customers whose trigger tag ran out in the last day and who are
    still known to carry a tag they should not (idempotent: once the removal is recorded,
    their plan is empty); returns how many customers."""
    stmt = select(TriggerFiring.customer_id).where(
        TriggerFiring.shop_id == shop_id,
        TriggerFiring.tag_until <= now,
        TriggerFiring.tag_until > now - EXPIRY_LOOKBACK,
        TriggerFiring.state.in_(TAGGED_STATES),
        TriggerFiring.customer_id.is_not(None),
    )
    candidates = {c for c in session.scalars(stmt.distinct()) if c is not None}
    if not candidates:
        return 0
    candidates -= left_alone(session, shop_id)
    plans = plan_customers(session, shop_id, candidates, now)
    due = [c for c, plan in plans.items() if not plan.empty]
    if due:
        queue_tag_work(session, shop_id, dict.fromkeys(due, EXPIRED), now)
    return len(due)
