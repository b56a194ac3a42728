"""Profile store tables. Platform ids are kept exactly as text; keys are surrogate BIGINTs.

Every personal column is nullable: it stays null until the platform grants
protected customer data access.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, BigIntPK, shop_fk, utcnow


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("shop_id", "platform_id"),
        Index("ix_customers_shop_email_cf", "shop_id", "email_cf"),
        # Covering: the VIP threshold and its band read only this index.
        Index(
            "ix_customers_shop_time_metrics_due_at",
            "shop_id",
            "time_metrics_due_at",
            "orders_365d",
            "spent_365d_minor",
        ),
        # Covering: shop totals, the RFM grid and cut-offs, prospects and the lifecycle
        # stages read only this index.
        Index(
            "ix_customers_shop_order_metrics",
            "shop_id",
            "orders_count",
            "total_spent_minor",
            "last_order_at",
            "first_order_at",
            "avg_days_between_orders",
        ),
        # Covering: the RFM grid groups the stored scores of customers with orders.
        Index(
            "ix_customers_shop_rfm_scores",
            "shop_id",
            "rfm_r",
            "rfm_f",
            "rfm_m",
            "orders_count",
            "total_spent_minor",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    platform_id: Mapped[str] = mapped_column(String(64))
    # personal data (protected customer data)
    email: Mapped[str | None] = mapped_column(String(320))
    email_cf: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(255))
    # coarse location and account facts
    locale: Mapped[str | None] = mapped_column(String(32))
    country_code: Mapped[str | None] = mapped_column(String(2))
    province_code: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str | None] = mapped_column(String(32))
    verified_email: Mapped[bool | None] = mapped_column(Boolean)
    email_marketing_state: Mapped[str | None] = mapped_column(String(32))
    email_marketing_opt_in_level: Mapped[str | None] = mapped_column(String(64))
    email_consent_updated_at: Mapped[datetime | None]
    sms_marketing_state: Mapped[str | None] = mapped_column(String(32))
    platform_created_at: Mapped[datetime | None]
    platform_updated_at: Mapped[datetime | None]
    # source versions ("<UTC ISO instant>|<delivery id>") per owned field group
    profile_version: Mapped[str | None] = mapped_column(String(128))
    consent_version: Mapped[str | None] = mapped_column(String(128))
    sms_consent_version: Mapped[str | None] = mapped_column(String(128))
    summary_version: Mapped[str | None] = mapped_column(String(128))
    # what the platform itself reports (customers/purchasing_summary), for reconciliation
    reported_orders_count: Mapped[int | None] = mapped_column(Integer)
    reported_amount_spent_minor: Mapped[int | None] = mapped_column(BigInteger)
    # the platform's own predictions (Shopify `statistics`), brought by the history import
    predicted_spend_tier: Mapped[str | None] = mapped_column(String(16))
    platform_rfm_group: Mapped[str | None] = mapped_column(String(32))
    statistics_version: Mapped[str | None] = mapped_column(String(128))
    # metrics, recomputed from this customer's rows
    orders_count: Mapped[int] = mapped_column(Integer, default=0)
    total_spent_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    avg_order_value_minor: Mapped[int | None] = mapped_column(BigInteger)
    first_order_at: Mapped[datetime | None]
    last_order_at: Mapped[datetime | None]
    avg_days_between_orders: Mapped[float | None] = mapped_column(Float)
    discount_order_share: Mapped[float | None] = mapped_column(Float)
    abandoned_checkouts_count: Mapped[int] = mapped_column(Integer, default=0)
    last_abandoned_at: Mapped[datetime | None]
    # time-window metrics, exact from metrics_updated_at until time_metrics_due_at (when an
    # order leaves the 365-day window or a pending checkout becomes abandoned); the sweep's
    # refresh_time_metrics recomputes the customers that fell due
    spent_365d_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    orders_365d: Mapped[int] = mapped_column(Integer, default=0)
    time_metrics_due_at: Mapped[datetime | None]
    metrics_updated_at: Mapped[datetime | None]
    # RFM scores 1-5 as last stored: the daily recompute moves them with hysteresis, a
    # sweep scores the unscored (plugin.segments.rfm_scores); null outside the population
    rfm_r: Mapped[int | None] = mapped_column(SmallInteger)
    rfm_f: Mapped[int | None] = mapped_column(SmallInteger)
    rfm_m: Mapped[int | None] = mapped_column(SmallInteger)
    rfm_scored_at: Mapped[datetime | None]  # when the stored scores last changed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CustomerTag(Base):
    """The shop's own tags on a customer; a removed tag stays as `present=False` with its
    version so a late `tags_added` cannot bring it back."""

    __tablename__ = "customer_tags"
    __table_args__ = (
        UniqueConstraint("customer_id", "tag_cf"),
        Index("ix_customer_tags_shop_tag_cf", "shop_id", "tag_cf"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE")
    )
    tag: Mapped[str] = mapped_column(String(255))
    tag_cf: Mapped[str] = mapped_column(String(255))
    present: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[str | None] = mapped_column(String(128))


class CustomerAddress(Base):
    """One of a customer's addresses (every one, not just the default), with the keys the
    segment language's location filters compare: `region_key` as Shopify writes a region
    (`US-CA`), `city_key` as it writes a city (`US-CA-LosAngeles`), casefolded. Written
    whole with the profile group (plugin.profiles.addresses); personal data."""

    __tablename__ = "customer_addresses"
    __table_args__ = (
        Index("ix_customer_addresses_customer", "customer_id"),
        Index("ix_customer_addresses_shop_country", "shop_id", "country_code"),
        Index("ix_customer_addresses_shop_region", "shop_id", "region_key"),
        Index("ix_customer_addresses_shop_city", "shop_id", "city_key"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE")
    )
    country_code: Mapped[str | None] = mapped_column(String(2))
    province_code: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(255))
    region_key: Mapped[str | None] = mapped_column(String(24))
    city_key: Mapped[str | None] = mapped_column(String(300))


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("shop_id", "platform_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    platform_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    product_type: Mapped[str | None] = mapped_column(String(255))
    product_type_cf: Mapped[str | None] = mapped_column(String(255))
    vendor: Mapped[str | None] = mapped_column(String(255))
    vendor_cf: Mapped[str | None] = mapped_column(String(255))
    # the platform's product taxonomy category, its own id without the GID prefix
    # (Shopify `aa-1-13-8`: each id extends its parent's, so a prefix names a subtree)
    category_id: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[str | None] = mapped_column(String(128))


class ProductTag(Base):
    __tablename__ = "product_tags"
    __table_args__ = (
        UniqueConstraint("product_id", "tag_cf"),
        Index("ix_product_tags_shop_tag_cf", "shop_id", "tag_cf"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    product_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("products.id", ondelete="CASCADE")
    )
    tag: Mapped[str] = mapped_column(String(255))
    tag_cf: Mapped[str] = mapped_column(String(255))


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "platform_id"),
        Index("ix_orders_shop_customer", "shop_id", "customer_id"),
        Index("ix_orders_shop_checkout_token", "shop_id", "checkout_token"),
        Index("ix_orders_shop_customer_platform_id", "shop_id", "customer_platform_id"),
        # Guest orders by e-mail: linking them to a new customer, erasing a data subject's.
        Index("ix_orders_shop_email_cf", "shop_id", "email_cf"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    platform_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="SET NULL")
    )
    customer_platform_id: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(320))  # personal
    email_cf: Mapped[str | None] = mapped_column(String(320))  # personal
    name: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str | None] = mapped_column(String(3))
    # money in integer minor units of the shop currency
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # current_total_price
    # total_minor minus this order's refunds that the order payload did not yet list
    net_total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    original_total_minor: Mapped[int | None] = mapped_column(BigInteger)  # total_price
    discount_minor: Mapped[int | None] = mapped_column(BigInteger)
    financial_status: Mapped[str | None] = mapped_column(String(32))
    cancelled_at: Mapped[datetime | None]
    test: Mapped[bool] = mapped_column(Boolean, default=False)
    source_name: Mapped[str | None] = mapped_column(String(64))
    discount_codes: Mapped[dict[str, Any] | None]  # {"codes": [...]}
    has_discount: Mapped[bool] = mapped_column(Boolean, default=False)  # a code or any discount
    checkout_token: Mapped[str | None] = mapped_column(String(255))
    cart_token: Mapped[str | None] = mapped_column(String(255))
    # refunds already reflected in total_minor (the order payload listed them)
    refund_ids: Mapped[dict[str, Any] | None]
    app_id: Mapped[str | None] = mapped_column(String(64))  # the app that created it
    location_id: Mapped[str | None] = mapped_column(String(64))  # point-of-sale location
    ordered_at: Mapped[datetime | None]  # processed_at, else created_at
    platform_updated_at: Mapped[datetime | None]
    version: Mapped[str | None] = mapped_column(String(128))
    anonymized: Mapped[bool] = mapped_column(Boolean, default=False)


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (Index("ix_order_lines_order", "order_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    order_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("orders.id", ondelete="CASCADE"))
    platform_id: Mapped[str | None] = mapped_column(String(64))
    product_platform_id: Mapped[str | None] = mapped_column(String(64))
    variant_platform_id: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    vendor: Mapped[str | None] = mapped_column(String(255))
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    price_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_minor: Mapped[int] = mapped_column(BigInteger, default=0)


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (
        UniqueConstraint("shop_id", "platform_id"),
        Index("ix_refunds_shop_order", "shop_id", "order_platform_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    platform_id: Mapped[str] = mapped_column(String(64))
    order_platform_id: Mapped[str] = mapped_column(String(64))
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_at: Mapped[datetime | None]


class Checkout(Base):
    __tablename__ = "checkouts"
    __table_args__ = (
        UniqueConstraint("shop_id", "token"),
        Index("ix_checkouts_shop_customer", "shop_id", "customer_id"),
        Index("ix_checkouts_shop_cart_token", "shop_id", "cart_token"),
        # Linking a new customer's checkouts, by platform id or guest e-mail, and erasing
        # a data subject's read these instead of every unlinked checkout of the shop.
        Index("ix_checkouts_shop_customer_platform_id", "shop_id", "customer_platform_id"),
        Index("ix_checkouts_shop_email_cf", "shop_id", "email_cf"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    token: Mapped[str] = mapped_column(String(255))
    platform_id: Mapped[str | None] = mapped_column(String(64))  # gone from payloads in 2026-04
    cart_token: Mapped[str | None] = mapped_column(String(255))
    customer_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="SET NULL")
    )
    customer_platform_id: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(320))  # personal
    email_cf: Mapped[str | None] = mapped_column(String(320))  # personal
    phone: Mapped[str | None] = mapped_column(String(64))  # personal
    currency: Mapped[str | None] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    recovery_url: Mapped[str | None] = mapped_column(Text)  # personal (opens their cart)
    line_items: Mapped[dict[str, Any] | None]  # {"items": [{product_id, title, quantity, ...}]}
    platform_created_at: Mapped[datetime | None]
    platform_updated_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    version: Mapped[str | None] = mapped_column(String(128))


class Purchase(Base):
    """One counted order line of a known customer: what segments over products read."""

    __tablename__ = "purchases"
    __table_args__ = (
        Index("ix_purchases_shop_customer_ordered", "shop_id", "customer_id", "ordered_at"),
        Index(
            "ix_purchases_shop_type_ordered_customer",
            "shop_id",
            "product_type_cf",
            "ordered_at",
            "customer_id",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE")
    )
    order_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("orders.id", ondelete="CASCADE"))
    ordered_at: Mapped[datetime]
    product_platform_id: Mapped[str | None] = mapped_column(String(64))
    product_type_cf: Mapped[str | None] = mapped_column(String(255))
    vendor_cf: Mapped[str | None] = mapped_column(String(255))
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)


class Tombstone(Base):
    """A deleted, merged or redacted record: later deliveries about it are not applied."""

    __tablename__ = "tombstones"

    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)  # customer|order|checkout|…
    platform_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32))  # deleted | merged | redacted
    version: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
