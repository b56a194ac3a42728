"""The metrics projection: each touched customer's metrics and purchases, rebuilt from rows.

Only the customers an event touched are recomputed, with aggregate queries over their
orders and checkouts, so the cost does not grow with the shop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, case, delete, exists, func, select
from sqlalchemy.orm import Session

from plugin.db import Unindexed, insert_for
from plugin.profiles.models import Checkout, Customer, Order, OrderLine, Product, Purchase
from plugin.profiles.products import casefold
from plugin.profiles.shop_settings import abandoned_after_hours

# The window of spent_365d_minor / orders_365d: orders placed after now minus this.
TIME_WINDOW = timedelta(days=365)

# Every source_name counts (web, pos, shopify_draft_order, iphone, android, subscription
# contracts, other sales channels): each is a real purchase. Names listed here would not.
EXCLUDED_SOURCE_NAMES: frozenset[str] = frozenset()


def counted_orders(shop_id: int) -> list[ColumnElement[bool]]:
    """Orders that are revenue: neither test nor cancelled (nor from an excluded source)."""
    criteria = [Order.shop_id == shop_id, Order.test.is_(False), Order.cancelled_at.is_(None)]
    if EXCLUDED_SOURCE_NAMES:
        criteria.append(
            Order.source_name.is_(None) | Order.source_name.not_in(EXCLUDED_SOURCE_NAMES)
        )
    return criteria


Whose = Callable[[Any], ColumnElement[bool]]  # a customer-id column → which customers


@dataclass(frozen=True)
class Aggregates:
    """What a set of customers' metrics are computed from, each keyed by customer id."""

    orders: dict[int, Any]
    abandoned: dict[int, tuple[int, datetime | None]]
    window: dict[int, Any]
    pending: dict[int, datetime]
    after: timedelta  # a checkout idle this long is abandoned


def recompute_metrics(
    session: Session, shop_id: int, customer_ids: Iterable[int | None], now: datetime
) -> None:
    """Recompute the metrics and purchases of these customers of one shop."""
    ids = sorted({i for i in customer_ids if i is not None})
    if not ids:
        return
    session.flush()
    found = aggregates(session, shop_id, lambda column: column.in_(ids), now)
    customers = session.scalars(
        select(Customer).where(Unindexed(Customer.shop_id) == shop_id, Customer.id.in_(ids))
    )
    for customer in customers:
        set_metrics(customer, customer.id, found, now)
    rebuild_purchases(session, shop_id, ids)


def aggregates(session: Session, shop_id: int, whose: Whose, now: datetime) -> Aggregates:
    """The aggregate queries of the customers `whose` selects (one statement each)."""
    after = timedelta(hours=abandoned_after_hours(session, shop_id))
    cutoff = now - after
    return Aggregates(
        _order_aggregates(session, shop_id, whose),
        _abandoned_aggregates(session, shop_id, whose, cutoff),
        _window_aggregates(session, shop_id, whose, now),
        _pending_abandonment(session, shop_id, whose, cutoff),
        after,
    )


def set_metrics(target: Any, customer_id: int, found: Aggregates, now: datetime) -> None:
    """Set one customer's metric attributes on `target` (a Customer, or any object)."""
    _set_order_metrics(target, found.orders.get(customer_id))
    count, last = found.abandoned.get(customer_id, (0, None))
    target.abandoned_checkouts_count = count
    target.last_abandoned_at = last
    window, pending = found.window.get(customer_id), found.pending.get(customer_id)
    _set_window_metrics(target, window, pending, found.after)
    target.metrics_updated_at = now


def _order_aggregates(session: Session, shop_id: int, whose: Whose) -> dict[int, Any]:
    stmt = (
        select(
            Order.customer_id,
            func.count().label("count"),
            func.coalesce(func.sum(Order.net_total_minor), 0).label("spent"),
            func.min(Order.ordered_at).label("first"),
            func.max(Order.ordered_at).label("last"),
            func.sum(case((Order.has_discount.is_(True), 1), else_=0)).label("discounted"),
        )
        .where(*counted_orders(shop_id), whose(Order.customer_id))
        .group_by(Order.customer_id)
    )
    return {row.customer_id: row for row in session.execute(stmt)}


def _set_order_metrics(customer: Customer, row: Any) -> None:
    count = int(row.count) if row else 0
    spent = int(row.spent) if row else 0
    customer.orders_count = count
    customer.total_spent_minor = spent
    customer.avg_order_value_minor = _round_div(spent, count) if count else None
    customer.first_order_at = row.first if row else None
    customer.last_order_at = row.last if row else None
    customer.discount_order_share = int(row.discounted) / count if count else None
    customer.avg_days_between_orders = (
        (row.last - row.first).total_seconds() / 86400 / (count - 1)
        if count > 1 and row.first and row.last
        else None
    )


def _round_div(total: int, count: int) -> int:
    """Integer division rounding half away from zero (minor units stay integers)."""
    quotient, remainder = divmod(abs(total), count)
    rounded = quotient + (1 if 2 * remainder >= count else 0)
    return rounded if total >= 0 else -rounded


def checkout_activity() -> ColumnElement[datetime]:
    """A checkout's last activity: its update time, else its creation time."""
    return func.coalesce(Checkout.platform_updated_at, Checkout.platform_created_at)


def open_checkouts(shop_id: int) -> list[ColumnElement[bool]]:
    """Not completed, and no order carries its token."""
    ordered = exists().where(
        Order.shop_id == Checkout.shop_id, Order.checkout_token == Checkout.token
    )
    return [Checkout.shop_id == shop_id, Checkout.completed_at.is_(None), ~ordered]


def abandoned_checkouts(shop_id: int, cutoff: datetime) -> list[ColumnElement[bool]]:
    """Open checkouts idle since before `cutoff`."""
    return [*open_checkouts(shop_id), checkout_activity() <= cutoff]


def _window_aggregates(
    session: Session, shop_id: int, whose: Whose, now: datetime
) -> dict[int, Any]:
    stmt = (
        select(
            Order.customer_id,
            func.count().label("count"),
            func.coalesce(func.sum(Order.net_total_minor), 0).label("spent"),
            func.min(Order.ordered_at).label("oldest"),
        )
        .where(
            *counted_orders(shop_id),
            whose(Order.customer_id),
            Order.ordered_at > now - TIME_WINDOW,
        )
        .group_by(Order.customer_id)
    )
    return {row.customer_id: row for row in session.execute(stmt)}


def _pending_abandonment(
    session: Session, shop_id: int, whose: Whose, cutoff: datetime
) -> dict[int, datetime]:
    """Each customer's oldest open checkout that time has not yet made abandoned."""
    stmt = (
        select(Checkout.customer_id, func.min(checkout_activity()))
        .where(*open_checkouts(shop_id), whose(Checkout.customer_id), checkout_activity() > cutoff)
        .group_by(Checkout.customer_id)
    )
    return {cid: oldest for cid, oldest in session.execute(stmt) if cid is not None}


def _set_window_metrics(
    customer: Customer, row: Any, pending: datetime | None, after: timedelta
) -> None:
    """The 365-day sums, and the first instant at which time alone changes a metric: the
    oldest windowed order leaves the window, or the oldest pending checkout is abandoned."""
    customer.orders_365d = int(row.count) if row else 0
    customer.spent_365d_minor = int(row.spent) if row else 0
    due = [row.oldest + TIME_WINDOW] if row and row.oldest else []
    if pending is not None:
        due.append(pending + after)
    customer.time_metrics_due_at = min(due) if due else None


def _abandoned_aggregates(
    session: Session, shop_id: int, whose: Whose, cutoff: datetime
) -> dict[int, tuple[int, datetime | None]]:
    activity = checkout_activity()
    stmt = (
        select(Checkout.customer_id, func.count(), func.max(activity))
        .where(*abandoned_checkouts(shop_id, cutoff), whose(Checkout.customer_id))
        .group_by(Checkout.customer_id)
    )
    return {cid: (int(n), last) for cid, n, last in session.execute(stmt) if cid is not None}


def refresh_abandonment(session: Session, shop_id: int, now: datetime, limit: int = 500) -> int:
    """Recompute customers whose checkouts became abandoned by time alone, since no event
    touches them then (for a scheduled sweep). Returns how many were recomputed.

    A customer is due when one of their open checkouts is past the cutoff but newer than
    the `last_abandoned_at` their metrics record: set-based, over due customers only.
    """
    cutoff = now - timedelta(hours=abandoned_after_hours(session, shop_id))
    stale = (Customer.last_abandoned_at.is_(None)) | (
        Customer.last_abandoned_at < checkout_activity()
    )
    due = (
        select(Checkout.customer_id)
        .join(Customer, (Customer.id == Checkout.customer_id) & (Customer.shop_id == shop_id))
        .where(*abandoned_checkouts(shop_id, cutoff), stale)
        .group_by(Checkout.customer_id)
        .order_by(Checkout.customer_id)
        .limit(limit)
    )
    ids = [i for i in session.scalars(due) if i is not None]
    recompute_metrics(session, shop_id, ids, now)
    return len(ids)


def refresh_time_metrics(session: Session, shop_id: int, now: datetime, batch: int = 5000) -> int:
    """Recompute every customer of the shop whose metrics time alone changed by `now` (an
    order left the 365-day window, a checkout became abandoned), so a sweep at `now` reads
    exact stored values. Set-based, over due customers only; returns how many."""
    total, after_id = 0, 0
    while True:
        due = (
            select(Customer.id)
            .where(
                Customer.shop_id == shop_id,
                Customer.time_metrics_due_at <= now,
                Customer.id > after_id,  # keyset: each customer once per call
            )
            .order_by(Customer.id)
            .limit(batch)
        )
        ids = list(session.scalars(due))
        if not ids:
            return total
        recompute_metrics(session, shop_id, ids, now)
        session.flush()
        total, after_id = total + len(ids), ids[-1]


def rebuild_purchases(session: Session, shop_id: int, ids: list[int]) -> None:
    """Replace these customers' purchases: one row per line of a counted order, with the
    product type from products (line items carry none) and the vendor casefolded."""
    session.execute(
        delete(Purchase).where(Purchase.shop_id == shop_id, Purchase.customer_id.in_(ids))
    )
    stmt = purchase_lines(shop_id, lambda column: column.in_(ids))
    rows = [_purchase(shop_id, row) for row in session.execute(stmt)]
    if rows:  # the table, not the class: a Core executemany, not the ORM's bulk insert
        session.execute(insert_for(session, Purchase.__table__), rows)


def purchase_lines(shop_id: int, whose: Whose) -> Select[Any]:
    """The lines of the counted orders of the customers `whose` selects, with what their
    purchase rows are made of."""
    return (
        select(
            Order.customer_id,
            Order.id,
            Order.ordered_at,
            OrderLine.product_platform_id,
            OrderLine.vendor,
            OrderLine.quantity,
            OrderLine.price_minor,
            OrderLine.discount_minor,
            Product.product_type_cf,
            Product.vendor_cf,
        )
        .join(OrderLine, (OrderLine.order_id == Order.id) & (OrderLine.shop_id == shop_id))
        .outerjoin(
            Product,
            (Product.shop_id == shop_id) & (Product.platform_id == OrderLine.product_platform_id),
        )
        .where(*counted_orders(shop_id), whose(Order.customer_id), Order.ordered_at.is_not(None))
    )


def _purchase(shop_id: int, row: Any) -> dict[str, Any]:
    return {
        "shop_id": shop_id,
        "customer_id": row.customer_id,
        "order_id": row.id,
        "ordered_at": row.ordered_at,
        "product_platform_id": row.product_platform_id,
        "product_type_cf": row.product_type_cf,
        "vendor_cf": row.vendor_cf or casefold(row.vendor),
        "quantity": row.quantity,
        "amount_minor": row.price_minor * row.quantity - row.discount_minor,
    }
