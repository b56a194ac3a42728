"""Customer profiles: stubs, the owned field groups (profile, consent, summary), guest links."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from plugin.db import lock_or_create
from plugin.events import (
    Address,
    CustomerConsentChanged,
    CustomerData,
    CustomerPurchasingSummary,
    CustomerSmsConsentChanged,
    CustomerTagsChanged,
    CustomerUpserted,
)
from plugin.profiles.addresses import add_first_address, replace_addresses
from plugin.profiles.customer_tags import replace_tags, set_tags
from plugin.profiles.metafields import replace_metafields
from plugin.profiles.models import Checkout, Customer, Order
from plugin.profiles.ownership import STUB_FILLABLE, consent_values, profile_values, stub_values
from plugin.profiles.shop_settings import link_guests_by_email
from plugin.profiles.tombstones import find_tombstone

CUSTOMER = "customer"  # tombstone kind
REDACTED = "redacted"  # tombstone reason written by the privacy package


def is_newer(version: str, stored: str | None) -> bool:
    """Versions compare as strings; an equal version was already applied."""
    return stored is None or version > stored


def find_customer(session: Session, shop_id: int, platform_id: str) -> Customer | None:
    return session.scalar(
        select(Customer).where(Customer.shop_id == shop_id, Customer.platform_id == platform_id)
    )


def lock_customer(session: Session, shop_id: int, platform_id: str) -> Customer:
    """The customer row, created as an empty stub if new, locked for this transaction."""
    return lock_or_create(session, Customer, shop_id=shop_id, platform_id=platform_id)


@dataclass(frozen=True)
class Owner:
    """Whom an order or checkout belongs to. `anonymize`: a redacted person's."""

    customer: Customer | None
    platform_id: str | None
    anonymize: bool = False


def resolve_owner(
    session: Session, shop_id: int, partial: CustomerData | None, email: str | None
) -> Owner:
    """The owner of an order or checkout, creating or filling a stub customer.

    A deleted or merged customer is not re-created (the row stays unlinked, keeping the
    platform id); a redacted one is not even named. No customer: a guest, linked by
    verified email when the shop allows it.
    """
    if partial is None:
        guest = match_guest_by_email(session, shop_id, email)
        return Owner(guest, guest.platform_id if guest else None)
    gone = find_tombstone(session, shop_id, CUSTOMER, partial.platform_id)
    if gone is not None:
        if gone.reason == REDACTED:
            return Owner(None, None, anonymize=True)
        return Owner(None, partial.platform_id)
    customer = lock_customer(session, shop_id, partial.platform_id)
    if fill_stub(customer, partial) & ADDRESS_COLUMNS and partial.address is not None:
        add_first_address(session, customer, partial.address)
    link_guests(session, shop_id, customer)
    return Owner(customer, customer.platform_id)


ADDRESS_COLUMNS = frozenset({"country_code", "province_code", "city"})


def fill_stub(customer: Customer, partial: CustomerData) -> set[str]:
    """A partial customer never overwrites: it fills columns that are still null.
    Returns the columns it filled."""
    values = stub_values(partial)
    filled = set()
    for column in STUB_FILLABLE:
        if getattr(customer, column) is None and values[column] is not None:
            setattr(customer, column, values[column])
            filled.add(column)
    return filled


def match_guest_by_email(session: Session, shop_id: int, email: str | None) -> Customer | None:
    """The one customer with this verified email, when the shop links guests by email."""
    if not email or not link_guests_by_email(session, shop_id):
        return None
    matches = session.scalars(
        select(Customer)
        .where(
            Customer.shop_id == shop_id,
            Customer.email_cf == email.casefold(),
            Customer.verified_email.is_(True),
        )
        .limit(2)
    ).all()
    return matches[0] if len(matches) == 1 else None  # ambiguous: leave it a guest


def link_guests(session: Session, shop_id: int, customer: Customer) -> None:
    """Attach unlinked orders and checkouts to a customer who now exists: by platform id,
    and by verified email when the shop setting allows it."""
    session.flush()
    for model in (Order, Checkout):
        by_id = model.customer_platform_id == customer.platform_id
        _attach(session, model, shop_id, customer, by_id)
    if customer.verified_email and customer.email_cf and link_guests_by_email(session, shop_id):
        for model in (Order, Checkout):
            by_email = (model.customer_platform_id.is_(None)) & (
                model.email_cf == customer.email_cf
            )
            _attach(session, model, shop_id, customer, by_email)


def _attach(
    session: Session,
    model: type[Order] | type[Checkout],
    shop_id: int,
    customer: Customer,
    match: ColumnElement[bool],
) -> None:
    criteria = [model.shop_id == shop_id, model.customer_id.is_(None), match]
    if model is Order:
        criteria.append(Order.anonymized.is_(False))
    session.execute(
        update(model)
        .where(*criteria)
        .values(customer_id=customer.id, customer_platform_id=customer.platform_id)
    )


def apply_customer_upserted(session: Session, shop_id: int, event: CustomerUpserted) -> set[int]:
    """customers/* own the profile fields; old payloads also carry consent and tags."""
    data = event.customer
    if find_tombstone(session, shop_id, CUSTOMER, data.platform_id) is not None:
        return set()
    customer = lock_customer(session, shop_id, data.platform_id)
    if is_newer(event.version, customer.profile_version):
        for column, value in profile_values(data).items():
            setattr(customer, column, value)
        customer.profile_version = event.version
        replace_addresses(session, customer, listed_addresses(data))
        if data.metafields is not None:
            replace_metafields(session, customer, list(data.metafields))
    consent = consent_values(data)
    if consent is not None and is_newer(event.version, customer.consent_version):
        _set_consent(customer, consent, event.version)
    if data.tags is not None:
        replace_tags(session, customer, data.tags, event.version)
    link_guests(session, shop_id, customer)
    return {customer.id}


def listed_addresses(data: CustomerData) -> list[Address]:
    """Every address the payload states: `addresses`, and the default one (payloads list it
    there too; an older or partial payload may carry only the default)."""
    default = [data.address] if data.address is not None else []
    return [*default, *(data.addresses or ())]


def _set_consent(customer: Customer, values: Mapping[str, Any], version: str) -> None:
    for column, value in values.items():
        setattr(customer, column, value)
    customer.consent_version = version


def apply_consent_changed(
    session: Session, shop_id: int, event: CustomerConsentChanged
) -> set[int]:
    if find_tombstone(session, shop_id, CUSTOMER, event.customer_id) is not None:
        return set()
    customer = lock_customer(session, shop_id, event.customer_id)
    if is_newer(event.version, customer.consent_version):
        values = {
            "email_marketing_state": event.email_marketing_state,
            "email_marketing_opt_in_level": event.opt_in_level,
            "email_consent_updated_at": event.consent_updated_at,
        }
        _set_consent(customer, values, event.version)
    return {customer.id}


def apply_sms_consent_changed(
    session: Session, shop_id: int, event: CustomerSmsConsentChanged
) -> set[int]:
    if find_tombstone(session, shop_id, CUSTOMER, event.customer_id) is not None:
        return set()
    customer = lock_customer(session, shop_id, event.customer_id)
    if is_newer(event.version, customer.sms_consent_version):
        customer.sms_marketing_state = event.sms_marketing_state
        customer.sms_consent_version = event.version
    return {customer.id}


def apply_purchasing_summary(
    session: Session, shop_id: int, event: CustomerPurchasingSummary
) -> set[int]:
    """What Shopify reports, kept beside our own metrics for reconciliation."""
    if find_tombstone(session, shop_id, CUSTOMER, event.customer_id) is not None:
        return set()
    customer = lock_customer(session, shop_id, event.customer_id)
    if is_newer(event.version, customer.summary_version):
        customer.reported_orders_count = event.orders_count
        customer.reported_amount_spent_minor = event.amount_spent_minor
        customer.summary_version = event.version
    return {customer.id}


def apply_tags_changed(session: Session, shop_id: int, event: CustomerTagsChanged) -> set[int]:
    if find_tombstone(session, shop_id, CUSTOMER, event.customer_id) is not None:
        return set()
    customer = lock_customer(session, shop_id, event.customer_id)
    changes = {**dict.fromkeys(event.removed, False), **dict.fromkeys(event.added, True)}
    set_tags(session, customer, changes, event.version)
    return {customer.id}
