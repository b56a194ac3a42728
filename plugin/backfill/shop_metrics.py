"""Every customer's metrics and purchases of one shop, a range of customer ids per
transaction: the end of a history import.

The aggregates are the per-event path's queries and the values its rules
(plugin.profiles.metrics), so both give the same store; only the writing differs: one
`UPDATE … FROM` a scratch table of new values and one `INSERT … SELECT` of purchases per
range, instead of an ORM update per customer and purchase rows built in Python.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Table,
    TableClause,
    and_,
    column,
    delete,
    func,
    literal,
    select,
    table,
    text,
    update,
)
from sqlalchemy.orm import Session

from plugin.backfill.rawinsert import insert_tuples, sqlite_time
from plugin.db import UTCDateTime
from plugin.profiles.metrics import aggregates, purchase_lines, set_metrics
from plugin.profiles.models import Customer, Order, OrderLine, Purchase
from plugin.profiles.products import casefold
from plugin.runtime import Runtime

RANGE = 20_000  # customers per transaction
INTEGER, MOMENT, REAL = "BIGINT", "TIMESTAMPTZ", "DOUBLE PRECISION"  # PostgreSQL types
METRICS = {
    "orders_count": INTEGER,
    "total_spent_minor": INTEGER,
    "avg_order_value_minor": INTEGER,
    "first_order_at": MOMENT,
    "last_order_at": MOMENT,
    "avg_days_between_orders": REAL,
    "discount_order_share": REAL,
    "abandoned_checkouts_count": INTEGER,
    "last_abandoned_at": MOMENT,
    "orders_365d": INTEGER,
    "spent_365d_minor": INTEGER,
    "time_metrics_due_at": MOMENT,
    "metrics_updated_at": MOMENT,
}
C = cast(Table, Customer.__table__)


class _Values:
    """What set_metrics writes to, for one customer."""


def recompute_shop_metrics(runtime: Runtime, shop_id: int, now: datetime) -> int:
    """Every customer's metrics and purchases; returns how many customers."""
    after, total = 0, 0
    while True:
        with runtime.sessions.begin() as session:
            ids = _lock_range(session, shop_id, after)
            if not ids:
                return total
            recompute_range(session, shop_id, ids[0], ids[-1], now)
        after, total = ids[-1], total + len(ids)


def _lock_range(session: Session, shop_id: int, after: int) -> list[int]:
    """The next range's customer ids, locked on PostgreSQL so no webhook changes their
    orders between the aggregates and the write (SQLite's write lock covers it)."""
    query = (
        select(Customer.id)
        .where(Customer.shop_id == shop_id, Customer.id > after)
        .order_by(Customer.id)
        .limit(RANGE)
        .with_for_update()
    )
    return list(session.scalars(query))


def recompute_range(session: Session, shop_id: int, lo: int, hi: int, now: datetime) -> None:
    """Metrics and purchases of the shop's customers with ids lo..hi."""
    found = aggregates(session, shop_id, lambda c: c.between(lo, hi), now)
    ids = session.scalars(
        select(Customer.id).where(Customer.shop_id == shop_id, Customer.id.between(lo, hi))
    )
    sqlite = session.get_bind().dialect.name == "sqlite"
    rows = [_values(customer_id, found, now, sqlite) for customer_id in ids]
    scratch = _scratch(session, "metrics_scratch", {"id": INTEGER, **METRICS})
    insert_tuples(session.connection(), scratch.name, ["id", *METRICS], rows)
    values: dict[str, Any] = {name: scratch.c[name] for name in METRICS}
    session.execute(
        update(C)
        .where(C.c.id == scratch.c.id, C.c.shop_id == shop_id)
        .values(**values, updated_at=literal(now, type_=UTCDateTime()))
    )
    _rebuild_purchases(session, shop_id, lo, hi)


def _values(customer_id: int, found: Any, now: datetime, sqlite: bool) -> tuple[Any, ...]:
    sink = _Values()
    set_metrics(sink, customer_id, found, now)
    values = [getattr(sink, name) for name in METRICS]
    if sqlite:
        values = [sqlite_time(v) if isinstance(v, datetime) else v for v in values]
    return (customer_id, *values)


def _rebuild_purchases(session: Session, shop_id: int, lo: int, hi: int) -> None:
    """The range's purchases, set-based. A line whose product has no vendor gets its own
    vendor casefolded as Python does (SQL's lower() is not casefold): the range's few
    distinct vendors are folded here and joined from a scratch table."""
    whose = lambda c: c.between(lo, hi)  # noqa: E731
    session.execute(
        delete(Purchase).where(Purchase.shop_id == shop_id, Purchase.customer_id.between(lo, hi))
    )
    vendors = session.scalars(
        select(OrderLine.vendor)
        .distinct()
        .join(Order, and_(Order.id == OrderLine.order_id, Order.shop_id == shop_id))
        .where(whose(Order.customer_id), OrderLine.vendor.is_not(None))
    ).all()
    folds = _scratch(session, "vendor_folds", {"vendor": "TEXT", "vendor_cf": "TEXT"})
    folded = [(vendor, casefold(vendor)) for vendor in vendors]
    insert_tuples(session.connection(), folds.name, ["vendor", "vendor_cf"], folded)
    lines = purchase_lines(shop_id, whose).subquery()
    query = select(
        literal(shop_id),
        lines.c.customer_id,
        lines.c.id,
        lines.c.ordered_at,
        lines.c.product_platform_id,
        lines.c.product_type_cf,
        func.coalesce(lines.c.vendor_cf, folds.c.vendor_cf),
        lines.c.quantity,
        lines.c.price_minor * lines.c.quantity - lines.c.discount_minor,
    ).outerjoin(folds, folds.c.vendor == lines.c.vendor)
    names = ["shop_id", "customer_id", "order_id", "ordered_at", "product_platform_id"]
    names += ["product_type_cf", "vendor_cf", "quantity", "amount_minor"]
    session.execute(cast(Table, Purchase.__table__).insert().from_select(names, query))


def _scratch(session: Session, name: str, columns: dict[str, str]) -> TableClause:
    """An empty temporary table for this transaction (PostgreSQL drops it at commit; a
    SQLite connection keeps it until the next range drops it)."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    session.execute(text(f"DROP TABLE IF EXISTS {'pg_temp' if postgresql else 'temp'}.{name}"))
    if postgresql:
        typed = ", ".join(f"{c} {kind}" for c, kind in columns.items())
        session.execute(text(f"CREATE TEMPORARY TABLE {name} ({typed}) ON COMMIT DROP"))
    else:  # untyped: values are stored exactly as given
        session.execute(text(f"CREATE TEMPORARY TABLE {name} ({', '.join(columns)})"))
    return table(name, *(column(c) for c in columns))
