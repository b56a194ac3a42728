"""Checkouts keyed by token: versioned upserts and deletes by id, token or cart token."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from plugin.db import lock_or_create
from plugin.events import CheckoutData, CheckoutDeleted, CheckoutUpserted, LineItem
from plugin.profiles.customers import CUSTOMER, REDACTED, Owner, is_newer, resolve_owner
from plugin.profiles.models import Checkout
from plugin.profiles.tombstones import add_tombstone, find_tombstone

# Tombstone kinds: a deleted token never comes back; an id or cart token only blocks
# deliveries no newer than the delete (a cart may start a fresh checkout later).
CHECKOUT = "checkout"
CHECKOUT_ID = "checkout_id"
CHECKOUT_CART = "checkout_cart"


def _deleted(session: Session, shop_id: int, data: CheckoutData, version: str) -> bool:
    if find_tombstone(session, shop_id, CHECKOUT, data.token) is not None:
        return True
    for kind, key in ((CHECKOUT_ID, data.platform_id), (CHECKOUT_CART, data.cart_token)):
        stone = find_tombstone(session, shop_id, kind, key) if key else None
        if stone is not None and (stone.version is None or version <= stone.version):
            return True
    return False


def _redacted(session: Session, shop_id: int, data: CheckoutData) -> bool:
    if data.customer is None:
        return False
    stone = find_tombstone(session, shop_id, CUSTOMER, data.customer.platform_id)
    return stone is not None and stone.reason == REDACTED


def _lock_checkout(session: Session, shop_id: int, token: str) -> Checkout:
    return lock_or_create(session, Checkout, shop_id=shop_id, token=token)


def apply_checkout_upserted(
    session: Session, shop_id: int, event: CheckoutUpserted
) -> set[int | None]:
    """Insert or update a checkout over an older version.

    A redacted person's checkout is not kept at all: unlike an order it carries nothing the
    shop's KPIs need, and everything in it (email, phone, recovery URL) is personal.
    """
    data = event.checkout
    if _deleted(session, shop_id, data, event.version) or _redacted(session, shop_id, data):
        return set()
    checkout = _lock_checkout(session, shop_id, data.token)
    if not is_newer(event.version, checkout.version):
        return set()
    previous = checkout.customer_id
    owner = resolve_owner(session, shop_id, data.customer, data.email)
    _write_checkout(checkout, data, owner, event.version)
    return {previous, checkout.customer_id}


def _write_checkout(checkout: Checkout, data: CheckoutData, owner: Owner, version: str) -> None:
    checkout.platform_id = data.platform_id or checkout.platform_id
    checkout.cart_token = data.cart_token
    checkout.customer_id = owner.customer.id if owner.customer else None
    checkout.customer_platform_id = owner.platform_id
    checkout.email = data.email
    checkout.email_cf = data.email.casefold() if data.email else None
    checkout.phone = data.phone
    checkout.currency = data.currency
    checkout.total_minor = data.total_minor
    checkout.recovery_url = data.recovery_url
    checkout.line_items = {"items": [_line_json(line) for line in data.line_items]}
    checkout.platform_created_at = data.created_at
    checkout.platform_updated_at = data.updated_at
    checkout.completed_at = data.completed_at
    checkout.version = version


def _line_json(line: LineItem) -> dict[str, object]:
    return {
        "product_id": line.product_id,
        "variant_id": line.variant_id,
        "title": line.title,
        "vendor": line.vendor,
        "quantity": line.quantity,
        "price_minor": line.price_minor,
    }


def _matching(session: Session, shop_id: int, event: CheckoutDeleted) -> list[Checkout]:
    exact: list[ColumnElement[bool]] = []
    if event.token:
        exact.append(Checkout.token == event.token)
    if event.platform_id:
        exact.append(Checkout.platform_id == event.platform_id)
    base = select(Checkout).where(Checkout.shop_id == shop_id).with_for_update()
    rows = list(session.scalars(base.where(or_(*exact)))) if exact else []
    if not rows and event.cart_token:  # 2026-04 checkouts have no id: go by cart token
        rows = list(session.scalars(base.where(Checkout.cart_token == event.cart_token)))
    return rows


def apply_checkout_deleted(
    session: Session, shop_id: int, event: CheckoutDeleted
) -> set[int | None]:
    touched: set[int | None] = set()
    for checkout in _matching(session, shop_id, event):
        touched.add(checkout.customer_id)
        add_tombstone(session, shop_id, CHECKOUT, checkout.token, "deleted", event.version)
        session.delete(checkout)
    for kind, key in (
        (CHECKOUT, event.token),
        (CHECKOUT_ID, event.platform_id),
        (CHECKOUT_CART, event.cart_token),
    ):
        if key:
            add_tombstone(session, shop_id, kind, key, "deleted", event.version)
    return touched
