"""Platform-neutral domain events: what a platform adapter makes of one webhook delivery.

Money is integer minor units of the shop currency; times are aware UTC datetimes; platform
ids are strings. `version` is the source version ("<UTC instant>|<delivery id>"): a handler
applies an event only over an older stored version, so late and repeated deliveries are
harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class Delivery:
    """Where an event came from: the inbox row's identity, for versions and audit."""

    inbox_id: int
    topic: str
    webhook_id: str
    event_id: str | None
    triggered_at: datetime | None


@dataclass(frozen=True)
class Address:
    country_code: str | None = None
    province_code: str | None = None
    city: str | None = None


@dataclass(frozen=True)
class Metafield:
    """One custom field of a customer in a queryable kind: text, number, date (a calendar
    day), date_time (an instant) or boolean; `values` holds one value, or a list's items, as
    text (`2026-05-03`, `12.5`, `true`)."""

    namespace: str
    key: str
    kind: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class CustomerData:
    platform_id: str
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    locale: str | None = None
    state: str | None = None
    verified_email: bool | None = None
    address: Address | None = None  # the default address
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Only pre-2025-01 payloads carry these; None means "not in this payload".
    tags: tuple[str, ...] | None = None
    email_marketing_state: str | None = None
    email_marketing_opt_in_level: str | None = None
    email_consent_updated_at: datetime | None = None
    # Every address (customers/* `addresses`); None: a partial customer that lists none.
    addresses: tuple[Address, ...] | None = None
    # Metafields of the namespaces the payload carries; None: it carries none at all.
    metafields: tuple[Metafield, ...] | None = None


@dataclass(frozen=True)
class LineItem:
    platform_id: str | None
    product_id: str | None
    variant_id: str | None
    title: str | None
    vendor: str | None
    quantity: int
    price_minor: int
    discount_minor: int = 0


@dataclass(frozen=True)
class OrderData:
    platform_id: str
    customer: CustomerData | None  # partial: may only fill what the profile lacks
    email: str | None
    name: str | None
    currency: str | None
    total_minor: int  # current total: reflects edits, returns and refunds
    original_total_minor: int | None
    discount_minor: int | None
    financial_status: str | None
    cancelled_at: datetime | None
    test: bool
    source_name: str | None
    discount_codes: tuple[str, ...]
    checkout_token: str | None
    cart_token: str | None
    refund_ids: tuple[str, ...]
    ordered_at: datetime | None
    updated_at: datetime | None
    line_items: tuple[LineItem, ...]
    app_id: str | None = None  # the app that created the order (e.g. a POS or sales channel)
    location_id: str | None = None  # the point-of-sale location, if sold in person


@dataclass(frozen=True)
class CheckoutData:
    token: str
    platform_id: str | None
    cart_token: str | None
    customer: CustomerData | None
    email: str | None
    phone: str | None
    currency: str | None
    total_minor: int
    recovery_url: str | None
    line_items: tuple[LineItem, ...]
    created_at: datetime | None
    updated_at: datetime | None
    completed_at: datetime | None


@dataclass(frozen=True)
class ProductData:
    platform_id: str
    title: str | None
    product_type: str | None
    vendor: str | None
    tags: tuple[str, ...]
    updated_at: datetime | None
    category_id: str | None = None  # the product taxonomy category (platform's own id)


# --- events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    version: str


@dataclass(frozen=True)
class CustomerUpserted(Event):
    customer: CustomerData


@dataclass(frozen=True)
class CustomerDeleted(Event):
    customer_id: str


@dataclass(frozen=True)
class CustomerConsentChanged(Event):
    customer_id: str
    email_marketing_state: str | None
    opt_in_level: str | None
    consent_updated_at: datetime | None


@dataclass(frozen=True)
class CustomerSmsConsentChanged(Event):
    customer_id: str
    sms_marketing_state: str | None


@dataclass(frozen=True)
class CustomerTagsChanged(Event):
    customer_id: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class CustomerPurchasingSummary(Event):
    customer_id: str
    orders_count: int
    amount_spent_minor: int
    last_order_id: str | None


@dataclass(frozen=True)
class CustomersMerged(Event):
    kept_id: str
    deleted_id: str


@dataclass(frozen=True)
class OrderUpserted(Event):
    order: OrderData


@dataclass(frozen=True)
class OrderDeleted(Event):
    order_id: str


@dataclass(frozen=True)
class RefundCreated(Event):
    refund_id: str
    order_id: str
    amount_minor: int
    refunded_at: datetime | None


@dataclass(frozen=True)
class CheckoutUpserted(Event):
    checkout: CheckoutData


@dataclass(frozen=True)
class CheckoutDeleted(Event):
    platform_id: str | None
    token: str | None
    cart_token: str | None


@dataclass(frozen=True)
class ProductUpserted(Event):
    product: ProductData


@dataclass(frozen=True)
class ShopUpdated(Event):
    timezone: str | None
    currency: str | None


@dataclass(frozen=True)
class AppUninstalled(Event):
    pass


@dataclass(frozen=True)
class ScopesUpdated(Event):
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class AppSubscriptionChanged(Event):
    """The shop's subscription to the app changed (chosen, renewed, cancelled, frozen)."""

    subscription_id: str
    name: str  # the plan's name as the app's listing configures it
    status: str  # ACTIVE | CANCELLED | DECLINED | EXPIRED | FROZEN | PENDING
    updated_at: datetime | None


@dataclass(frozen=True)
class ExportFinished(Event):
    """The platform finished a bulk export (its result is fetched by the import, later)."""

    operation_id: str
    status: str  # completed | failed | canceled | expired (lowercase, as delivered)


@dataclass(frozen=True)
class CustomerDataRequested(Event):
    customer_id: str
    email: str | None
    phone: str | None
    order_ids: tuple[str, ...] = field(default_factory=tuple)
    request_id: str | None = None


@dataclass(frozen=True)
class CustomerRedactRequested(Event):
    customer_id: str
    email: str | None
    phone: str | None
    order_ids: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ShopRedactRequested(Event):
    pass


# --- helpers shared by adapters, the worker and handlers -----------------------------------


def make_version(instant: datetime | None, fallback: datetime | None, delivery_id: str) -> str:
    """The source version of a delivery: resource time (else trigger time) and delivery id.

    Fixed-width UTC ISO text compares in time order, so versions compare as strings.
    """
    moment = instant or fallback
    stamp = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment else "0000"
    return f"{stamp}|{delivery_id}"


def subject_customer_ids(event: Event) -> tuple[str, ...]:
    """Platform ids of the customers an event is about (locks, redaction lookups)."""
    ids: list[str | None] = []
    if isinstance(event, CustomerUpserted):
        ids.append(event.customer.platform_id)
    elif isinstance(event, OrderUpserted):
        ids.append(event.order.customer.platform_id if event.order.customer else None)
    elif isinstance(event, CheckoutUpserted):
        ids.append(event.checkout.customer.platform_id if event.checkout.customer else None)
    elif isinstance(event, CustomersMerged):
        ids.extend([event.kept_id, event.deleted_id])
    else:
        ids.append(getattr(event, "customer_id", None))
    return tuple(sorted({i for i in ids if i}))
