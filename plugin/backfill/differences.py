"""What a reconcile found: staged records newer than the stored ones, and whose metrics to redo.

Versions are "<UTC ISO instant>|<source>"; only the instant says whether the shop holds a
newer state (the source half merely orders two reports of the same moment), so a record
the webhooks already brought counts as checked, not repaired.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, union
from sqlalchemy.orm import Session

from plugin.backfill.merge_people import not_tombstoned
from plugin.backfill.models import StagedCustomer, StagedOrder
from plugin.profiles.models import Customer, Order

STAMP = len("2026-01-01T00:00:00.000000Z")  # the instant of a version


def _instant(column: Any) -> ColumnElement[str]:
    return func.substr(column, 1, STAMP)


def _at_least(stored: Any, staged: Any) -> ColumnElement[bool]:
    return and_(stored.is_not(None), _instant(stored) >= _instant(staged))


def repaired_counts(session: Session, shop_id: int, run_id: int) -> dict[str, int]:
    """Staged customers and orders the store lacks or holds an older state of."""
    sc, so = StagedCustomer, StagedOrder
    customer_current = exists().where(
        Customer.shop_id == shop_id,
        Customer.platform_id == sc.platform_id,
        _at_least(Customer.profile_version, sc.profile_version),
        or_(sc.consent_version.is_(None), _at_least(Customer.consent_version, sc.consent_version)),
    )
    order_current = exists().where(
        Order.shop_id == shop_id,
        Order.platform_id == so.platform_id,
        _at_least(Order.version, so.version),
    )
    customers = select(func.count()).where(
        sc.run_id == run_id, not_tombstoned("customer", shop_id, sc.tomb_key), ~customer_current
    )
    orders = select(func.count()).where(
        so.run_id == run_id, not_tombstoned("order", shop_id, so.tomb_key), ~order_current
    )
    return {
        "customers": int(session.scalar(customers) or 0),
        "orders": int(session.scalar(orders) or 0),
    }


def touched_customer_ids(session: Session, shop_id: int, run_id: int) -> list[int]:
    """Stored customers a reconcile staged, or staged an order of: their metrics to redo."""
    named = union(
        select(StagedCustomer.platform_id).where(StagedCustomer.run_id == run_id),
        select(StagedOrder.customer_platform_id).where(
            StagedOrder.run_id == run_id, StagedOrder.customer_platform_id.is_not(None)
        ),
    ).subquery()
    query = (
        select(Customer.id)
        .where(Customer.shop_id == shop_id, Customer.platform_id.in_(select(named.c[0])))
        .order_by(Customer.id)
    )
    return list(session.scalars(query))
