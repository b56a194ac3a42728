"""Metrics that time alone changes: stored with the instant they fall due, refreshed by the
sweep to exactly what a recompute at the same instant gives."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.profiles.customers import find_customer
from plugin.profiles.metrics import recompute_metrics, refresh_time_metrics
from plugin.profiles.models import Customer
from plugin.segments.context import CompileContext
from plugin.segments.fields import field_expression
from plugin.shops.models import Shop
from tests.support.profiles import NOW, checkout_payload, order_payload

Apply = Callable[..., list[Any]]
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
US = timedelta(microseconds=1)


def profile(session: Session, shop: Shop, platform_id: str) -> Customer:
    session.expire_all()
    found = find_customer(session, shop.id, platform_id)
    assert found is not None
    return found


def order(order_id: str, customer: str, total: str, at: datetime) -> dict[str, Any]:
    return order_payload(order_id, customer=customer, total=total, updated_at=at)


def field(session: Session, shop: Shop, name: str, platform_id: str, now: datetime) -> Any:
    expr = field_expression(name, CompileContext(shop.id, now))
    return session.scalar(
        select(expr).where(Customer.shop_id == shop.id, Customer.platform_id == platform_id)
    )


def snapshot(session: Session, shop: Shop) -> list[tuple[Any, ...]]:
    session.expire_all()
    columns = (
        Customer.platform_id,
        Customer.spent_365d_minor,
        Customer.orders_365d,
        Customer.abandoned_checkouts_count,
        Customer.last_abandoned_at,
        Customer.time_metrics_due_at,
    )
    stmt = select(*columns).where(Customer.shop_id == shop.id).order_by(Customer.platform_id)
    return [tuple(row) for row in session.execute(stmt)]


def test_orders_leave_the_365_day_window_when_due(
    apply: Apply, session: Session, shop: Shop
) -> None:
    apply("orders/create", order("1", "100", "10.00", NOW - 400 * DAY))
    apply("orders/create", order("2", "100", "20.00", NOW - 200 * DAY))
    apply("orders/create", order("3", "100", "30.00", NOW - 10 * DAY))
    c = profile(session, shop, "100")
    assert (c.orders_365d, c.spent_365d_minor) == (2, 5000)
    assert c.time_metrics_due_at == NOW + 165 * DAY  # order 2 turns 365 days old

    assert refresh_time_metrics(session, shop.id, NOW + 165 * DAY - US) == 0
    assert profile(session, shop, "100").orders_365d == 2
    assert refresh_time_metrics(session, shop.id, NOW + 165 * DAY) == 1
    c = profile(session, shop, "100")
    assert (c.orders_365d, c.spent_365d_minor) == (1, 3000)
    assert c.time_metrics_due_at == NOW + 355 * DAY
    assert refresh_time_metrics(session, shop.id, NOW + 400 * DAY) == 1
    c = profile(session, shop, "100")
    assert (c.orders_365d, c.spent_365d_minor, c.time_metrics_due_at) == (0, 0, None)
    assert c.orders_count == 3  # all-time metrics are untouched by the window


def test_a_checkout_becomes_abandoned_when_due_and_an_order_clears_it(
    apply: Apply, session: Session, shop: Shop
) -> None:
    idle_since = NOW - 2 * HOUR
    apply("checkouts/update", checkout_payload("tok", customer="200", total="9.00",
                                               updated_at=idle_since))  # fmt: skip
    c = profile(session, shop, "200")
    assert c.last_abandoned_at is None
    assert c.time_metrics_due_at == idle_since + 10 * HOUR  # default abandoned_after_hours
    assert field(session, shop, "open_abandoned_checkout_at", "200", NOW) is None

    due = idle_since + 10 * HOUR
    assert refresh_time_metrics(session, shop.id, due - US) == 0
    assert refresh_time_metrics(session, shop.id, due) == 1
    c = profile(session, shop, "200")
    assert (c.abandoned_checkouts_count, c.last_abandoned_at) == (1, idle_since)
    assert c.time_metrics_due_at is None
    assert field(session, shop, "open_abandoned_checkout_at", "200", due) == idle_since

    bought = NOW + 9 * HOUR  # another order, not this checkout's
    apply("orders/create", order("5", "200", "12.00", bought), now=bought)
    assert field(session, shop, "open_abandoned_checkout_at", "200", bought) is None
    assert field(session, shop, "abandoned_checkout_date", "200", bought) == idle_since


def test_sweep_refresh_equals_a_recompute_at_the_same_instant(
    apply: Apply, session: Session, shop: Shop
) -> None:
    """What real time stores (a recompute of the customer) and what the sweep stores
    (refresh of due customers) agree at every instant, whoever fell due."""
    history = [
        ("1", "100", "10.00", NOW - 364 * DAY),
        ("2", "100", "5.00", NOW - 30 * DAY),
        ("3", "300", "7.50", NOW - 100 * DAY),
        ("4", "400", "1.00", NOW - 365 * DAY + HOUR),
    ]
    for order_id, customer, total, at in history:
        apply("orders/create", order(order_id, customer, total, at))
    apply("checkouts/update", checkout_payload("t1", customer="300", total="3.00",
                                               updated_at=NOW - HOUR))  # fmt: skip
    for later in (HOUR, 9 * HOUR, DAY, 2 * DAY, 266 * DAY, 336 * DAY):
        refresh_time_metrics(session, shop.id, NOW + later)
        swept = snapshot(session, shop)
        ids = list(session.scalars(select(Customer.id).where(Customer.shop_id == shop.id)))
        recompute_metrics(session, shop.id, ids, NOW + later)
        session.flush()
        assert swept == snapshot(session, shop), later
    c = profile(session, shop, "100")
    assert (c.orders_365d, c.spent_365d_minor) == (0, 0)  # order 2 left at +335 days


def test_fields_are_exact_at_any_clock_before_the_sweep_refreshes(
    apply: Apply, session: Session, shop: Shop
) -> None:
    """A preview between sweeps reads the same values a sweep would after refreshing:
    past the due instant (or before the last recompute) the fields aggregate the rows."""
    apply("orders/create", order("1", "100", "10.00", NOW - 400 * DAY))
    apply("orders/create", order("2", "100", "20.00", NOW - 200 * DAY))
    apply("orders/create", order("3", "100", "30.00", NOW - 10 * DAY))
    apply("checkouts/update", checkout_payload("tok", customer="100", total="9.00",
                                               updated_at=NOW - HOUR))  # fmt: skip

    def window(now: datetime) -> tuple[Any, ...]:
        names = ("orders_365d", "spent_365d", "abandoned_checkout_date")
        return tuple(field(session, shop, n, "100", now) for n in names)

    stored_until_due = window(NOW + 9 * HOUR - US)
    assert stored_until_due == (2, 5000, None)
    assert window(NOW + 9 * HOUR) == (2, 5000, NOW - HOUR)  # the checkout is abandoned now
    assert field(session, shop, "open_abandoned_checkout_at", "100", NOW + 9 * HOUR) == (NOW - HOUR)
    assert window(NOW + 166 * DAY) == (1, 3000, NOW - HOUR)  # order 2 has left
    assert window(NOW - 40 * DAY) == (3, 6000, None)  # before the recompute's clock
    assert profile(session, shop, "100").orders_365d == 2  # nothing was written

    refresh_time_metrics(session, shop.id, NOW + 166 * DAY)
    assert window(NOW + 166 * DAY) == (1, 3000, NOW - HOUR)


def test_refresh_touches_only_the_given_shop(apply: Apply, session: Session, shop: Shop) -> None:
    other = Shop(domain="beta.myshopify.com", install_state="installed")
    session.add(other)
    session.commit()
    apply("orders/create", order("1", "100", "10.00", NOW - 300 * DAY))
    apply("orders/create", order("1", "100", "10.00", NOW - 300 * DAY), shop=other)
    assert refresh_time_metrics(session, other.id, NOW + 66 * DAY) == 1
    assert profile(session, shop, "100").orders_365d == 1  # still stored, not refreshed
    assert field(session, shop, "orders_365d", "100", NOW + 66 * DAY) == 0  # yet exact
