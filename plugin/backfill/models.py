"""Tables of the history import: one run per shop, its phases' progress, and staged rows.

Staged rows carry the final column values (money in minor units, casefolds, versions), so
merging is one INSERT … SELECT per table per batch. They are deleted when the run is done.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, MappedColumn, mapped_column

from plugin.db import Base, BigIntPK, JSONType, shop_fk, utcnow

# run states
QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"

# phase states, in order
PENDING = "pending"  # no operation started yet
WAITING = "waiting"  # the platform runs the export
READY = "ready"  # the export is complete: its lines are being staged
STAGED = "staged"  # every line is staged: rows are being merged
MERGED = "merged"

BULK = "bulk"
PAGED = "paged"


class BackfillRun(Base):
    __tablename__ = "backfill_runs"
    __table_args__ = (Index("ix_backfill_runs_shop_id", "shop_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    why: Mapped[str] = mapped_column(String(64), default="")
    # Without read_all_orders the platform only exports recent orders: metrics are partial.
    partial_history: Mapped[bool] = mapped_column(Boolean, default=False)
    # One process advances a run at a time: "<host>:<pid>" until `lease_until`.
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None]
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class BackfillPhase(Base):
    """One resource of a run (customers, products, orders): its export and how far it got."""

    __tablename__ = "backfill_phases"

    run_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    resource: Mapped[str] = mapped_column(String(16), primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    mode: Mapped[str] = mapped_column(String(8), default=BULK)
    operation_id: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(Text)
    url_expires_at: Mapped[datetime | None]
    cursor: Mapped[str | None] = mapped_column(Text)  # paged mode: where the next page starts
    object_count: Mapped[int] = mapped_column(BigInteger, default=0)  # as the platform says
    lines_done: Mapped[int] = mapped_column(BigInteger, default=0)  # lines staged
    merged_upto: Mapped[int] = mapped_column(BigInteger, default=-1)  # last merged line
    started_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]


def staged_shop_id() -> MappedColumn[int]:
    """A staged row's shop, without a foreign key: SQLite empties a table whole only if no
    key involves it (its truncate optimization), and PostgreSQL checked the key for each of
    millions of staged rows. The shop redaction deletes them by shop_id as any table's."""
    return mapped_column(BigInteger)


class StagedCustomer(Base):
    __tablename__ = "backfill_customers"

    shop_id: Mapped[int] = staged_shop_id()
    run_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(64))
    tomb_key: Mapped[str] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(320))
    email_cf: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str | None] = mapped_column(String(32))
    verified_email: Mapped[bool | None] = mapped_column(Boolean)
    country_code: Mapped[str | None] = mapped_column(String(2))
    province_code: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(32))
    platform_created_at: Mapped[datetime | None]
    platform_updated_at: Mapped[datetime | None]
    profile_version: Mapped[str] = mapped_column(String(128))
    email_marketing_state: Mapped[str | None] = mapped_column(String(32))
    email_marketing_opt_in_level: Mapped[str | None] = mapped_column(String(64))
    email_consent_updated_at: Mapped[datetime | None]
    consent_version: Mapped[str | None] = mapped_column(String(128))  # None: no consent known
    reported_orders_count: Mapped[int | None] = mapped_column(Integer)
    reported_amount_spent_minor: Mapped[int | None] = mapped_column(BigInteger)
    predicted_spend_tier: Mapped[str | None] = mapped_column(String(16))
    platform_rfm_group: Mapped[str | None] = mapped_column(String(32))
    statistics_version: Mapped[str] = mapped_column(String(128))
    sms_marketing_state: Mapped[str | None] = mapped_column(String(32))
    sms_consent_version: Mapped[str | None] = mapped_column(String(128))  # None: none known


class StagedAddress(Base):
    """An address of a staged customer, joined to it by platform id on merge (bulk lines of
    a nested connection come in any order). The default address is staged too, under its
    customer's line number."""

    __tablename__ = "backfill_addresses"
    __table_args__ = (
        Index("ix_backfill_addresses_run_customer", "run_id", "customer_platform_id"),
    )

    shop_id: Mapped[int] = staged_shop_id()
    run_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_platform_id: Mapped[str] = mapped_column(String(64))
    country_code: Mapped[str | None] = mapped_column(String(2))
    province_code: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(255))
    region_key: Mapped[str | None] = mapped_column(String(24))
    city_key: Mapped[str | None] = mapped_column(String(300))


class StagedMetafield(Base):
    """One value of a staged customer's metafield (a list's items are numbered by
    `position`), already typed as customer_metafields stores it; joined to its customer by
    platform id on merge, as addresses are."""

    __tablename__ = "backfill_metafields"
    __table_args__ = (
        Index("ix_backfill_metafields_run_customer", "run_id", "customer_platform_id"),
    )

    shop_id: Mapped[int] = staged_shop_id()
    run_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_platform_id: Mapped[str] = mapped_column(String(64))
    namespace: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(Text)
    text_cf: Mapped[str | None] = mapped_column(Text)
    number_value: Mapped[float | None] = mapped_column(Float)
    date_value: Mapped[date | None]
    at_value: Mapped[datetime | None]
    bool_value: Mapped[bool | None] = mapped_column(Boolean)
    month_day: Mapped[int | None] = mapped_column(SmallInteger)


class StagedCompany(Base):
    """A customer read by the companies export (`position` -1, no company: the customer's
    list is replaced even when it is now empty) and each of its companies."""

    __tablename__ = "backfill_companies"

    shop_id: Mapped[int] = staged_shop_id()
    run_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_platform_id: Mapped[str] = mapped_column(String(64))
    company_id: Mapped[str | None] = mapped_column(String(64))


class StagedStoreCredit(Base):
    """A line of the store credit export: a customer read (`kind` owner: its accounts are
    replaced even when it now has none), one of its accounts (account), or a credit of an
    account (credit, `customer_platform_id` null: joined through its account)."""

    __tablename__ = "backfill_store_credit"
    __table_args__ = (
        Index("ix_backfill_store_credit_owner", "run_id", "kind", "customer_platform_id"),
        Index("ix_backfill_store_credit_account", "run_id", "kind", "account_id"),
    )

    shop_id: Mapped[int] = staged_shop_id()
    run_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # owner | account | credit
    customer_platform_id: Mapped[str | None] = mapped_column(String(64))
    account_id: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str | None] = mapped_column(String(3))
    exponent: Mapped[int | None] = mapped_column(SmallInteger)
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)  # balance | remaining
    credited_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]


class StagedTag(Base):
    """A tag of a staged customer or product (`owner_seq` is the owner's line number)."""

    __tablename__ = "backfill_tags"

    shop_id: Mapped[int] = staged_shop_id()
    run_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # customer | product
    owner_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tag_cf: Mapped[str] = mapped_column(String(255), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255))


class StagedProduct(Base):
    __tablename__ = "backfill_products"

    shop_id: Mapped[int] = staged_shop_id()
    run_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    product_type: Mapped[str | None] = mapped_column(String(255))
    product_type_cf: Mapped[str | None] = mapped_column(String(255))
    vendor: Mapped[str | None] = mapped_column(String(255))
    vendor_cf: Mapped[str | None] = mapped_column(String(255))
    category_id: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(128))


class StagedOrder(Base):
    __tablename__ = "backfill_orders"
    __table_args__ = (Index("ix_backfill_orders_run_platform", "run_id", "platform_id"),)

    shop_id: Mapped[int] = staged_shop_id()
    run_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(64))
    tomb_key: Mapped[str] = mapped_column(String(64))
    customer_platform_id: Mapped[str | None] = mapped_column(String(64))
    customer_tomb_key: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(320))
    email_cf: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str | None] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    original_total_minor: Mapped[int | None] = mapped_column(BigInteger)
    discount_minor: Mapped[int | None] = mapped_column(BigInteger)
    has_discount: Mapped[bool] = mapped_column(Boolean)
    financial_status: Mapped[str | None] = mapped_column(String(32))
    cancelled_at: Mapped[datetime | None]
    test: Mapped[bool] = mapped_column(Boolean)
    source_name: Mapped[str | None] = mapped_column(String(64))
    discount_codes: Mapped[dict[str, Any]] = mapped_column(JSONType)
    refund_ids: Mapped[dict[str, Any]] = mapped_column(JSONType)
    app_id: Mapped[str | None] = mapped_column(String(64))
    location_id: Mapped[str | None] = mapped_column(String(64))
    ordered_at: Mapped[datetime | None]
    platform_updated_at: Mapped[datetime | None]
    version: Mapped[str] = mapped_column(String(128))


class StagedOrderLine(Base):
    __tablename__ = "backfill_order_lines"
    __table_args__ = (Index("ix_backfill_order_lines_run_order", "run_id", "order_platform_id"),)

    shop_id: Mapped[int] = staged_shop_id()
    run_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_platform_id: Mapped[str] = mapped_column(String(64))
    platform_id: Mapped[str | None] = mapped_column(String(64))
    product_platform_id: Mapped[str | None] = mapped_column(String(64))
    variant_platform_id: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    vendor: Mapped[str | None] = mapped_column(String(255))
    quantity: Mapped[int] = mapped_column(Integer)
    price_minor: Mapped[int] = mapped_column(BigInteger)
    discount_minor: Mapped[int] = mapped_column(BigInteger)
