"""Customer profiles: stubs, the owned field groups (profile, consent, summary), guest links."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from plugin.db import Unindexed, lock_or_create, lock_or_create_many
from plugin.events import (
    Address,
    CustomerConsentChanged,
    CustomerData,
    CustomerPurchasingSummary,
    CustomerSmsConsentChanged,
    CustomerTagsChanged,
    CustomerUpserted,
)
from plugin.profiles.addresses import add_first_addresses, replace_addresses
from plugin.profiles.customer_tags import replace_tags, set_tags
from plugin.profiles.metafields import replace_metafields
from plugin.profiles.models import Checkout, Customer, Order
from plugin.profiles.ownership import STUB_FILLABLE, consent_values, profile_values, stub_values
from plugin.profiles.shop_settings import link_guests_by_email
from plugin.profiles.tombstones import find_tombstone, find_tombstones

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
    """The owner of an order or checkout, creating or filling a stub customer (see
    `resolve_owners`)."""
    return resolve_owners(session, shop_id, [(partial, email)])[0]


def resolve_owners(
    session: Session, shop_id: int, wanted: Sequence[tuple[CustomerData | None, str | None]]
) -> list[Owner]:
    """The owners of orders or checkouts ((partial customer, email) each), in one pass:
    stub customers created or filled, guests linked.

    A deleted or merged customer is not re-created (the row stays unlinked, keeping the
    platform id); a redacted one is not even named. No customer: a guest, linked by
    verified email when the shop allows it. A customer named twice is resolved one at a
    time, in order, as separate deliveries would be.
    """
    named = [partial.platform_id for partial, _ in wanted if partial is not None]
    if len(set(named)) < len(named):
        return [resolve_owners(session, shop_id, [item])[0] for item in wanted]
    gone = find_tombstones(session, shop_id, CUSTOMER, named)
    customers = lock_customers(session, shop_id, [pid for pid in named if pid not in gone])
    addresses = []
    for partial, _ in wanted:
        customer = customers.get(partial.platform_id) if partial is not None else None
        if partial is None or customer is None:
            continue
        if fill_stub(customer, partial) & ADDRESS_COLUMNS and partial.address is not None:
            addresses.append((customer, partial.address))
    add_first_addresses(session, addresses)
    link_guests_of(session, shop_id, [customers[pid] for pid in named if pid in customers])
    guests = match_guests_by_email(
        session, shop_id, [email for partial, email in wanted if partial is None]
    )
    owners = []
    for partial, email in wanted:
        if partial is None:
            guest = guests.get(email.casefold()) if email else None
            owners.append(Owner(guest, guest.platform_id if guest else None))
        elif partial.platform_id in gone:
            redacted = gone[partial.platform_id].reason == REDACTED
            owners.append(
                Owner(None, None, anonymize=True) if redacted else Owner(None, partial.platform_id)
            )
        else:
            customer = customers[partial.platform_id]
            owners.append(Owner(customer, customer.platform_id))
    return owners


def lock_customers(
    session: Session, shop_id: int, platform_ids: Sequence[str]
) -> dict[str, Customer]:
    """Customer rows by platform id, empty stubs created for new ones, locked for this
    transaction."""
    return lock_or_create_many(session, Customer, shop_id, platform_ids)


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
    return match_guests_by_email(session, shop_id, [email]).get(email.casefold()) if email else None


def match_guests_by_email(
    session: Session, shop_id: int, emails: Sequence[str | None]
) -> dict[str, Customer]:
    """By casefolded email, the one customer with it verified (an email two customers
    share stays a guest), when the shop links guests by email; one query."""
    wanted = sorted({e.casefold() for e in emails if e})
    if not wanted or not link_guests_by_email(session, shop_id):
        return {}
    rows = session.scalars(
        select(Customer).where(
            Customer.shop_id == shop_id,
            Customer.email_cf.in_(wanted),
            Customer.verified_email.is_(True),
        )
    ).all()
    seen: dict[str, list[Customer]] = {}
    for row in rows:
        seen.setdefault(row.email_cf or "", []).append(row)
    return {cf: found[0] for cf, found in seen.items() if len(found) == 1}


def link_guests(session: Session, shop_id: int, customer: Customer) -> None:
    """Attach unlinked orders and checkouts to a customer who now exists (see
    `link_guests_of`)."""
    link_guests_of(session, shop_id, [customer])


def link_guests_of(session: Session, shop_id: int, customers: Sequence[Customer]) -> None:
    """Attach unlinked orders and checkouts to customers who now exist: by platform id,
    and by verified email when the shop setting allows it; an email several of them
    hold goes to the first, as one delivery after another would do."""
    if not customers:
        return
    session.flush()
    platform_ids = sorted({c.platform_id for c in customers})
    for model in (Order, Checkout):
        owner = select(Customer.id).where(
            Customer.shop_id == model.shop_id, Customer.platform_id == model.customer_platform_id
        )
        _attach(
            session,
            model,
            shop_id,
            model.customer_platform_id.in_(platform_ids),
            customer_id=owner.scalar_subquery(),
        )
    by_email: dict[str, Customer] = {}
    for c in customers:
        if c.verified_email and c.email_cf:
            by_email.setdefault(c.email_cf, c)
    if not by_email or not link_guests_by_email(session, shop_id):
        return
    ids = [c.id for c in by_email.values()]
    for model in (Order, Checkout):
        chosen = select(Customer).where(Customer.id.in_(ids), Customer.email_cf == model.email_cf)
        _attach(
            session,
            model,
            shop_id,
            model.customer_platform_id.is_(None) & model.email_cf.in_(sorted(by_email)),
            customer_id=chosen.with_only_columns(Customer.id).scalar_subquery(),
            customer_platform_id=chosen.with_only_columns(Customer.platform_id).scalar_subquery(),
        )


def _attach(
    session: Session,
    model: type[Order] | type[Checkout],
    shop_id: int,
    match: ColumnElement[bool],
    **values: Any,
) -> None:
    # Unindexed: `match` finds the few rows by platform id or e-mail; the index on the
    # customer would read every unlinked (guest) row of the shop.
    criteria = [model.shop_id == shop_id, Unindexed(model.customer_id).is_(None), match]
    if model is Order:
        criteria.append(Order.anonymized.is_(False))
    session.execute(update(model).where(*criteria).values(**values))


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
