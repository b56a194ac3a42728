"""Time-window and abandonment fields, exact at any clock: the stored value while it is
valid, else the same aggregate computed from the customer's own rows at `ctx.now`.

Stored values are exact from `metrics_updated_at` until `time_metrics_due_at` (see
`plugin.profiles.metrics`); the sweep's `refresh_time_metrics` keeps the fallback rare.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, case, func, or_, select

from plugin.profiles.metrics import (
    TIME_WINDOW,
    abandoned_checkouts,
    checkout_activity,
    counted_orders,
)
from plugin.profiles.models import Checkout, Customer, Order
from plugin.segments.context import CompileContext


def _now(ctx: CompileContext) -> ColumnElement[datetime]:
    return bindparam("time_fields_now", ctx.now, type_=Customer.metrics_updated_at.type)


def stale(ctx: CompileContext) -> ColumnElement[bool]:
    """The stored time metrics do not hold at `ctx.now` (NULL columns: they hold)."""
    now = _now(ctx)
    return or_(Customer.time_metrics_due_at <= now, Customer.metrics_updated_at > now)


def _windowed(ctx: CompileContext, aggregate: Any) -> ColumnElement[int]:
    since = bindparam(
        "time_fields_window_since", ctx.now - TIME_WINDOW, type_=Order.ordered_at.type
    )
    return (
        select(aggregate)
        .where(
            *counted_orders(ctx.shop_id), Order.customer_id == Customer.id, Order.ordered_at > since
        )
        .correlate(Customer)
        .scalar_subquery()
    )


def spent_365d(ctx: CompileContext) -> ColumnElement[int]:
    if ctx.stored_time_metrics:
        return Customer.spent_365d_minor
    exact = _windowed(ctx, func.coalesce(func.sum(Order.net_total_minor), 0))
    return case((stale(ctx), exact), else_=Customer.spent_365d_minor)


def orders_365d(ctx: CompileContext) -> ColumnElement[int]:
    if ctx.stored_time_metrics:
        return Customer.orders_365d
    return case((stale(ctx), _windowed(ctx, func.count())), else_=Customer.orders_365d)


def last_abandoned_at(ctx: CompileContext) -> ColumnElement[datetime]:
    """The latest abandoned checkout's last activity (`abandoned_checkout_date`)."""
    if ctx.stored_time_metrics:
        return Customer.last_abandoned_at
    cutoff = ctx.now - timedelta(hours=ctx.abandoned_after_hours)
    exact = (
        select(func.max(checkout_activity()))
        .where(*abandoned_checkouts(ctx.shop_id, cutoff), Checkout.customer_id == Customer.id)
        .correlate(Customer)
        .scalar_subquery()
    )
    return case((stale(ctx), exact), else_=Customer.last_abandoned_at)


def open_abandoned_checkout_at(ctx: CompileContext) -> ColumnElement[datetime]:
    """The latest abandoned checkout's last activity, unless an order came at or after it."""
    last = last_abandoned_at(ctx)
    cleared = and_(Customer.last_order_at.is_not(None), Customer.last_order_at >= last)
    return case((and_(last.is_not(None), ~cleared), last), else_=None)
