"""Read side of the profile store: one customer's profile document, what they bought."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from plugin.profiles.customer_tags import present_tags
from plugin.profiles.customers import find_customer
from plugin.profiles.metrics import counted_orders
from plugin.profiles.models import Customer, Order, Purchase
from plugin.profiles.money import format_minor
from plugin.shops.models import Shop

ID_CHUNK = 1000


def bought_by(
    session: Session, shop_id: int, customer_id: int, column: InstrumentedAttribute[str | None]
) -> list[dict[str, Any]]:
    """Values of a purchases column (product type, vendor) with order and unit counts."""
    stmt = (
        select(
            column.label("value"),
            func.count(func.distinct(Purchase.order_id)).label("orders"),
            func.sum(Purchase.quantity).label("quantity"),
        )
        .where(
            Purchase.shop_id == shop_id,
            Purchase.customer_id == customer_id,
            column.is_not(None),
        )
        .group_by(column)
        .order_by(func.count(func.distinct(Purchase.order_id)).desc(), column)
    )
    return [
        {"value": r.value, "orders": int(r.orders), "quantity": int(r.quantity or 0)}
        for r in session.execute(stmt)
    ]


def product_types_bought(session: Session, shop_id: int, customer_id: int) -> list[dict[str, Any]]:
    return bought_by(session, shop_id, customer_id, Purchase.product_type_cf)


def vendors_bought(session: Session, shop_id: int, customer_id: int) -> list[dict[str, Any]]:
    return bought_by(session, shop_id, customer_id, Purchase.vendor_cf)


def platform_ids(
    session: Session, shop_id: int, customer_ids: Iterable[int | None]
) -> dict[int, str]:
    """The shop's own ids (what a merchant reads) of internal customer ids, one query per
    thousand ids; customers deleted or erased since are left out."""
    wanted = sorted({i for i in customer_ids if i is not None})
    found: dict[int, str] = {}
    for start in range(0, len(wanted), ID_CHUNK):
        stmt = select(Customer.id, Customer.platform_id).where(
            Customer.shop_id == shop_id, Customer.id.in_(wanted[start : start + ID_CHUNK])
        )
        found.update({row.id: row.platform_id for row in session.execute(stmt)})
    return found


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _metrics(c: Customer, currency: str) -> dict[str, Any]:
    return {
        "orders_count": c.orders_count,
        "total_spent": format_minor(c.total_spent_minor, currency),
        "total_spent_minor": c.total_spent_minor,
        "average_order_value": format_minor(c.avg_order_value_minor, currency),
        "first_order_at": _when(c.first_order_at),
        "last_order_at": _when(c.last_order_at),
        "avg_days_between_orders": c.avg_days_between_orders,
        "discount_order_share": c.discount_order_share,
        "abandoned_checkouts_count": c.abandoned_checkouts_count,
        "last_abandoned_at": _when(c.last_abandoned_at),
        "updated_at": _when(c.metrics_updated_at),
    }


def _profile(c: Customer) -> dict[str, Any]:
    return {
        "email": c.email,
        "phone": c.phone,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "locale": c.locale,
        "country_code": c.country_code,
        "province_code": c.province_code,
        "city": c.city,
        "state": c.state,
        "verified_email": c.verified_email,
        "created_at": _when(c.platform_created_at),
        "updated_at": _when(c.platform_updated_at),
    }


def _orders(session: Session, shop: Shop, customer_id: int) -> list[dict[str, Any]]:
    counted = select(Order.id).where(*counted_orders(shop.id), Order.customer_id == customer_id)
    counted_ids = set(session.scalars(counted))
    rows = session.scalars(
        select(Order)
        .where(Order.shop_id == shop.id, Order.customer_id == customer_id)
        .order_by(Order.ordered_at, Order.id)
    )
    return [
        {
            "id": o.platform_id,
            "name": o.name,
            "ordered_at": _when(o.ordered_at),
            "total": format_minor(o.total_minor, shop.currency),
            "net_total": format_minor(o.net_total_minor, shop.currency),
            "source_name": o.source_name,
            "test": o.test,
            "cancelled": o.cancelled_at is not None,
            "counted": o.id in counted_ids,
        }
        for o in rows
    ]


def customer_document(session: Session, shop: Shop, platform_id: str) -> dict[str, Any] | None:
    """Everything `customers show` prints for one customer; ids are strings."""
    c = find_customer(session, shop.id, platform_id)
    if c is None:
        return None
    return {
        "shop": shop.domain,
        "customer_id": c.platform_id,
        "currency": shop.currency,
        "profile": _profile(c),
        "consent": {
            "email_marketing_state": c.email_marketing_state,
            "opt_in_level": c.email_marketing_opt_in_level,
            "updated_at": _when(c.email_consent_updated_at),
        },
        "tags": present_tags(session, shop.id, c.id),
        "metrics": _metrics(c, shop.currency),
        "reported_by_platform": {
            "orders_count": c.reported_orders_count,
            "amount_spent": format_minor(c.reported_amount_spent_minor, shop.currency),
        },
        "product_types": product_types_bought(session, shop.id, c.id),
        "vendors": vendors_bought(session, shop.id, c.id),
        "orders": _orders(session, shop, c.id),
    }


def shop_totals(session: Session, shop_id: int) -> dict[str, int]:
    """Customers, buyers (1+ counted order), orders and spend of a shop, in one query."""
    row = session.execute(
        select(
            func.count(),
            func.count().filter(Customer.orders_count > 0),
            func.coalesce(func.sum(Customer.orders_count), 0),
            func.coalesce(func.sum(Customer.total_spent_minor), 0),
        ).where(Customer.shop_id == shop_id)
    ).one()
    keys = ("customers", "buyers", "orders", "revenue_minor")
    return {k: int(v or 0) for k, v in zip(keys, row, strict=True)}
