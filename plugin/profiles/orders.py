"""Orders and refunds: versioned upserts, tombstoned deletes, and each order's net value."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from plugin.db import insert_for, lock_or_create_many
from plugin.events import OrderData, OrderDeleted, OrderUpserted, RefundCreated
from plugin.profiles.customers import Owner, is_newer, resolve_owners
from plugin.profiles.models import Checkout, Order, OrderLine, Purchase, Refund
from plugin.profiles.tombstones import add_tombstone, find_tombstone, find_tombstones

ORDER = "order"  # tombstone kind


def find_order(session: Session, shop_id: int, platform_id: str) -> Order | None:
    return session.scalar(
        select(Order)
        .where(Order.shop_id == shop_id, Order.platform_id == platform_id)
        .with_for_update()
    )


def apply_order_upserted(session: Session, shop_id: int, event: OrderUpserted) -> set[int | None]:
    """Insert or update an order over an older version (see `apply_orders_upserted`)."""
    return apply_orders_upserted(session, shop_id, [event])[0]


def apply_orders_upserted(
    session: Session, shop_id: int, events: Sequence[OrderUpserted]
) -> list[set[int | None]]:
    """Insert or update orders over older versions; a deleted order stays deleted. A few
    statements for the whole list, not a few per order.

    Returns, per event, the customers whose metrics it changes: the owner before and
    after, and the owners of checkouts the order completes. An order named twice is
    applied one event at a time, in order.
    """
    ids = [e.order.platform_id for e in events]
    if len(set(ids)) < len(ids):
        return [apply_orders_upserted(session, shop_id, [e])[0] for e in events]
    gone = find_tombstones(session, shop_id, ORDER, ids)
    live = [e for e in events if e.order.platform_id not in gone]
    orders = lock_or_create_many(session, Order, shop_id, [e.order.platform_id for e in live])
    newer = [e for e in live if is_newer(e.version, orders[e.order.platform_id].version)]
    previous = {e.order.platform_id: orders[e.order.platform_id].customer_id for e in newer}
    # An order anonymised by a redaction stays so; the others get their owners.
    owned = [e for e in newer if not orders[e.order.platform_id].anonymized]
    owners = dict(
        zip(
            [e.order.platform_id for e in owned],
            resolve_owners(session, shop_id, [(e.order.customer, e.order.email) for e in owned]),
            strict=True,
        )
    )
    for e in newer:
        owner = owners.get(e.order.platform_id, Owner(None, None, anonymize=True))
        _write_order(orders[e.order.platform_id], e.order, owner, e.version)
    written = [orders[e.order.platform_id] for e in newer]
    _replace_lines_of(session, [(orders[e.order.platform_id], e.order) for e in newer])
    refresh_net_totals(session, shop_id, written)
    # The payload's token, as stored or not: an anonymised order keeps none.
    completes = checkouts_owners(session, shop_id, [e.order.checkout_token for e in newer])
    touched: dict[str, set[int | None]] = {}
    for e in newer:
        order = orders[e.order.platform_id]
        token = e.order.checkout_token or ""
        touched[order.platform_id] = {
            previous[order.platform_id],
            order.customer_id,
            *completes.get(token, ()),
        }
    return [touched.get(e.order.platform_id, set()) for e in events]


def _write_order(order: Order, data: OrderData, owner: Owner, version: str) -> None:
    email = None if owner.anonymize else data.email
    order.customer_id = owner.customer.id if owner.customer else None
    order.customer_platform_id = owner.platform_id
    order.anonymized = owner.anonymize
    order.email = email
    order.email_cf = email.casefold() if email else None
    order.name = data.name
    order.currency = data.currency
    order.total_minor = data.total_minor
    order.original_total_minor = data.original_total_minor
    order.discount_minor = data.discount_minor
    order.has_discount = bool(data.discount_codes) or bool(data.discount_minor)
    order.financial_status = data.financial_status
    order.cancelled_at = data.cancelled_at
    order.test = data.test
    order.source_name = data.source_name
    order.discount_codes = {"codes": list(data.discount_codes)}
    # An anonymised order keeps no token that leads back to the person's checkout.
    order.checkout_token = None if owner.anonymize else data.checkout_token
    order.cart_token = None if owner.anonymize else data.cart_token
    order.refund_ids = {"ids": list(data.refund_ids)}
    order.app_id = data.app_id
    order.location_id = data.location_id
    order.ordered_at = data.ordered_at
    order.platform_updated_at = data.updated_at
    order.version = version


def _replace_lines_of(session: Session, orders: Sequence[tuple[Order, OrderData]]) -> None:
    """Each order's lines replaced by its payload's: one DELETE and one INSERT."""
    if not orders:
        return
    session.flush()
    order_ids = [order.id for order, _ in orders]
    session.execute(delete(OrderLine).where(OrderLine.order_id.in_(order_ids)))
    rows = [
        {
            "shop_id": order.shop_id,
            "order_id": order.id,
            "platform_id": line.platform_id,
            "product_platform_id": line.product_id,
            "variant_platform_id": line.variant_id,
            "title": line.title,
            "vendor": line.vendor,
            "quantity": line.quantity,
            "price_minor": line.price_minor,
            "discount_minor": line.discount_minor,
        }
        for order, data in orders
        for line in data.line_items
    ]
    if rows:
        session.execute(insert_for(session, OrderLine), rows)


def refresh_net_total(session: Session, order: Order) -> None:
    """Net value: the current total minus refunds the order payload did not list yet.

    A listed refund is already reflected in `current_total_price`, so no refund counts
    twice, and a refund that arrives before the order's update still counts.
    """
    refresh_net_totals(session, order.shop_id, [order])


def refresh_net_totals(session: Session, shop_id: int, orders: Sequence[Order]) -> None:
    """`refresh_net_total` for many orders of one shop: one query for their refunds."""
    if not orders:
        return
    refunds = session.execute(
        select(Refund.order_platform_id, Refund.platform_id, Refund.amount_minor).where(
            Refund.shop_id == shop_id,
            Refund.order_platform_id.in_(sorted({o.platform_id for o in orders})),
        )
    )
    by_order: dict[str, list[tuple[str, int]]] = {}
    for order_id, refund_id, amount in refunds:
        by_order.setdefault(order_id, []).append((refund_id, int(amount or 0)))
    for order in orders:
        listed = set((order.refund_ids or {}).get("ids", []))
        unlisted = sum(a for rid, a in by_order.get(order.platform_id, []) if rid not in listed)
        order.net_total_minor = order.total_minor - unlisted


def checkouts_owners(
    session: Session, shop_id: int, tokens: Sequence[str | None]
) -> dict[str, set[int | None]]:
    """By token, the customers whose checkouts these tokens complete; one query."""
    wanted = sorted({t for t in tokens if t})
    if not wanted:
        return {}
    rows = session.execute(
        select(Checkout.token, Checkout.customer_id).where(
            Checkout.shop_id == shop_id, Checkout.token.in_(wanted)
        )
    )
    found: dict[str, set[int | None]] = {}
    for token, customer_id in rows:
        found.setdefault(token, set()).add(customer_id)
    return found


def apply_order_deleted(session: Session, shop_id: int, event: OrderDeleted) -> set[int | None]:
    """Delete the order with its lines and refunds, and tombstone it against late upserts."""
    touched: set[int | None] = set()
    order = find_order(session, shop_id, event.order_id)
    if order is not None:
        completes = checkouts_owners(session, shop_id, [order.checkout_token])
        touched = {order.customer_id, *completes.get(order.checkout_token or "", ())}
        for model in (Purchase, OrderLine):
            session.execute(delete(model).where(model.order_id == order.id))
        session.delete(order)
    session.execute(
        delete(Refund).where(Refund.shop_id == shop_id, Refund.order_platform_id == event.order_id)
    )
    add_tombstone(session, shop_id, ORDER, event.order_id, "deleted", event.version)
    return touched


def apply_refund_created(session: Session, shop_id: int, event: RefundCreated) -> set[int | None]:
    """Store a refund once (refunds never change) and update its order's net value."""
    if find_tombstone(session, shop_id, ORDER, event.order_id) is not None:
        return set()
    stmt = insert_for(session, Refund).values(
        shop_id=shop_id,
        platform_id=event.refund_id,
        order_platform_id=event.order_id,
        amount_minor=event.amount_minor,
        refunded_at=event.refunded_at,
    )
    session.execute(stmt.on_conflict_do_nothing(index_elements=["shop_id", "platform_id"]))
    order = find_order(session, shop_id, event.order_id)
    if order is None:  # counted once its order arrives
        return set()
    refresh_net_total(session, order)
    return {order.customer_id}
