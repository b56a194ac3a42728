"""Orders and refunds: versioned upserts, tombstoned deletes, and each order's net value."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from plugin.db import insert_for, lock_or_create
from plugin.events import OrderData, OrderDeleted, OrderUpserted, RefundCreated
from plugin.profiles.customers import Owner, is_newer, resolve_owner
from plugin.profiles.models import Checkout, Order, OrderLine, Purchase, Refund
from plugin.profiles.tombstones import add_tombstone, find_tombstone

ORDER = "order"  # tombstone kind


def find_order(session: Session, shop_id: int, platform_id: str) -> Order | None:
    return session.scalar(
        select(Order)
        .where(Order.shop_id == shop_id, Order.platform_id == platform_id)
        .with_for_update()
    )


def _lock_order(session: Session, shop_id: int, platform_id: str) -> Order:
    return lock_or_create(session, Order, shop_id=shop_id, platform_id=platform_id)


def apply_order_upserted(session: Session, shop_id: int, event: OrderUpserted) -> set[int | None]:
    """Insert or update an order over an older version; a deleted order stays deleted.

    Returns the customers whose metrics this changes: the owner before and after, and
    the owners of checkouts this order completes.
    """
    data = event.order
    if find_tombstone(session, shop_id, ORDER, data.platform_id) is not None:
        return set()
    order = _lock_order(session, shop_id, data.platform_id)
    if not is_newer(event.version, order.version):
        return set()
    previous = order.customer_id
    owner = (
        Owner(None, None, anonymize=True)
        if order.anonymized  # anonymised by a redaction: it stays so
        else resolve_owner(session, shop_id, data.customer, data.email)
    )
    _write_order(order, data, owner, event.version)
    _replace_lines(session, order, data)
    refresh_net_total(session, order)
    return {previous, order.customer_id, *checkout_owners(session, shop_id, data.checkout_token)}


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


def _replace_lines(session: Session, order: Order, data: OrderData) -> None:
    session.flush()
    session.execute(delete(OrderLine).where(OrderLine.order_id == order.id))
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
        for line in data.line_items
    ]
    if rows:
        session.execute(insert_for(session, OrderLine), rows)


def refresh_net_total(session: Session, order: Order) -> None:
    """Net value: the current total minus refunds the order payload did not list yet.

    A listed refund is already reflected in `current_total_price`, so no refund counts
    twice, and a refund that arrives before the order's update still counts.
    """
    listed = (order.refund_ids or {}).get("ids", [])
    unlisted = session.scalar(
        select(func.coalesce(func.sum(Refund.amount_minor), 0)).where(
            Refund.shop_id == order.shop_id,
            Refund.order_platform_id == order.platform_id,
            Refund.platform_id.not_in(listed),
        )
    )
    order.net_total_minor = order.total_minor - int(unlisted or 0)


def checkout_owners(session: Session, shop_id: int, token: str | None) -> set[int | None]:
    """Customers whose checkout an order with this token completes (abandonment changes)."""
    if not token:
        return set()
    rows = session.scalars(
        select(Checkout.customer_id).where(Checkout.shop_id == shop_id, Checkout.token == token)
    )
    return set(rows)


def apply_order_deleted(session: Session, shop_id: int, event: OrderDeleted) -> set[int | None]:
    """Delete the order with its lines and refunds, and tombstone it against late upserts."""
    touched: set[int | None] = set()
    order = find_order(session, shop_id, event.order_id)
    if order is not None:
        touched = {order.customer_id, *checkout_owners(session, shop_id, order.checkout_token)}
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
