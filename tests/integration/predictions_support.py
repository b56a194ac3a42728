"""Shops with order histories for the prediction tests: rows straight into the tables."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from plugin.predictions.cdnow import read_days
from plugin.profiles.models import Customer, Order
from plugin.shops.models import INSTALLED, Shop

NOON = time(12, tzinfo=UTC)


def make_shop(session: Session, domain: str, tz: str = "UTC", currency: str = "USD") -> Shop:
    shop = Shop(domain=domain, install_state=INSTALLED, timezone=tz, currency=currency)
    session.add(shop)
    session.flush()
    return shop


def add_histories(
    session: Session, shop: Shop, histories: dict[str, Iterable[tuple[datetime, int]]]
) -> dict[str, int]:
    """Customers by platform id with (ordered_at, net total minor) orders; returns ids.
    Customer metrics are filled in as the profile store would (orders, first, last)."""
    ids: dict[str, int] = {}
    orders = []
    for key, history in histories.items():
        placed = sorted(history)
        customer = Customer(
            shop_id=shop.id,
            platform_id=key,
            orders_count=len(placed),
            total_spent_minor=sum(v for _, v in placed),
            first_order_at=placed[0][0] if placed else None,
            last_order_at=placed[-1][0] if placed else None,
        )
        session.add(customer)
        session.flush()
        ids[key] = customer.id
        orders += [
            {
                "shop_id": shop.id,
                "platform_id": f"{key}-{n}",
                "customer_id": customer.id,
                "customer_platform_id": key,
                "total_minor": value,
                "net_total_minor": value,
                "ordered_at": at,
            }
            for n, (at, value) in enumerate(placed)
        ]
    if orders:
        session.execute(insert(Order.__table__), orders)
    session.flush()
    return ids


def load_cdnow(session: Session, shop: Shop, name: str) -> None:
    """A CDNOW file as the shop's customers and orders (same-day lines already merged,
    at noon UTC on their day), all in three statements."""
    customer, day, value = read_days(name)
    session.execute(
        insert(Customer.__table__),
        [{"shop_id": shop.id, "platform_id": str(c)} for c in range(int(customer.max()) + 1)],
    )
    ids = dict(
        session.execute(
            select(Customer.platform_id, Customer.id).where(Customer.shop_id == shop.id)
        ).all()
    )
    rows = [
        {
            "shop_id": shop.id,
            "platform_id": str(n),
            "customer_id": ids[str(c)],
            "total_minor": round(v * 100),
            "net_total_minor": round(v * 100),
            "ordered_at": datetime.combine(date.fromordinal(d), NOON),
        }
        for n, (c, d, v) in enumerate(
            zip(customer.tolist(), day.tolist(), value.tolist(), strict=True)
        )
    ]
    session.execute(insert(Order.__table__), rows)
    session.flush()


def at(day: date, days: int = 0) -> datetime:
    return datetime.combine(day, NOON) + timedelta(days=days)
