"""Customers leaving the store: deletion (orders kept, unlinked) and completed merges."""

from __future__ import annotations

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from plugin.events import CustomerDeleted, CustomersMerged
from plugin.profiles.customer_tags import set_tags
from plugin.profiles.customers import CUSTOMER, find_customer, link_guests, lock_customer
from plugin.profiles.models import Checkout, Customer, CustomerTag, Order, Purchase
from plugin.profiles.tombstones import add_tombstone, find_tombstone


def _remove(session: Session, customer: Customer) -> None:
    """Delete a customer row and what hangs off it; orders and checkouts stay, unlinked."""
    for model in (Order, Checkout):
        session.execute(
            update(model)
            .where(model.shop_id == customer.shop_id, model.customer_id == customer.id)
            .values(customer_id=None)
        )
    for table in (Purchase, CustomerTag):
        session.execute(
            delete(table).where(table.shop_id == customer.shop_id, table.customer_id == customer.id)
        )
    session.delete(customer)
    session.flush()


def apply_customer_deleted(session: Session, shop_id: int, event: CustomerDeleted) -> set[int]:
    """Remove the customer and tombstone them so a late delivery cannot re-create them."""
    customer = find_customer(session, shop_id, event.customer_id)
    if customer is not None:
        _remove(session, customer)
    add_tombstone(session, shop_id, CUSTOMER, event.customer_id, "deleted", event.version)
    return set()


def apply_customers_merged(session: Session, shop_id: int, event: CustomersMerged) -> set[int]:
    """A completed merge: the deleted customer's orders, checkouts and tags move to the
    kept one, the deleted one is tombstoned (reason merged), the kept one recomputed."""
    if event.kept_id == event.deleted_id:
        return set()
    if find_tombstone(session, shop_id, CUSTOMER, event.kept_id) is not None:
        # The kept customer is gone too (deleted or redacted): nothing to move onto.
        return apply_customer_deleted(
            session, shop_id, CustomerDeleted(event.version, event.deleted_id)
        )
    kept = lock_customer(session, shop_id, event.kept_id)
    merged = find_customer(session, shop_id, event.deleted_id)
    _move_history(session, kept, event.deleted_id, merged)
    if merged is not None:
        _move_tags(session, merged, kept)
        _remove(session, merged)
    add_tombstone(session, shop_id, CUSTOMER, event.deleted_id, "merged", event.version)
    link_guests(session, shop_id, kept)
    return {kept.id}


def _move_history(
    session: Session, kept: Customer, merged_platform_id: str, merged: Customer | None
) -> None:
    for model in (Order, Checkout):
        owned = [model.customer_platform_id == merged_platform_id]
        if merged is not None:
            owned.append(model.customer_id == merged.id)
        criteria = [model.shop_id == kept.shop_id, or_(*owned)]
        if model is Order:
            criteria.append(Order.anonymized.is_(False))
        session.execute(
            update(model)
            .where(*criteria)
            .values(customer_id=kept.id, customer_platform_id=kept.platform_id)
        )


def _move_tags(session: Session, merged: Customer, kept: Customer) -> None:
    """Each tag moves with its own version, so the newer state of a tag wins."""
    rows = session.execute(
        select(CustomerTag.tag, CustomerTag.present, CustomerTag.version).where(
            CustomerTag.shop_id == merged.shop_id, CustomerTag.customer_id == merged.id
        )
    ).all()
    by_version: dict[str | None, dict[str, bool]] = {}
    for tag, present, version in rows:
        by_version.setdefault(version, {})[tag] = present
    for version, changes in by_version.items():
        set_tags(session, kept, changes, version)
