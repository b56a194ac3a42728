"""Tables of what a customer has besides the profile row: custom fields (metafields),
kept whole with the profile and typed for the segment language, B2B companies and store
credit accounts with their credits."""

from __future__ import annotations

from datetime import date, datetime

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
)
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, BigIntPK, shop_fk


class CustomerMetafield(Base):
    """One value of a customer's metafield (a list metafield has a row per item, numbered
    by `position`). `type` is the queryable kind (text, number, date, date_time, boolean)
    and exactly the typed column of that kind is filled; `month_day` (May 3 → 503) serves
    `anniversary()`. Personal data: replaced whole with the profile, erased with it."""

    __tablename__ = "customer_metafields"
    __table_args__ = (
        Index("ix_customer_metafields_customer", "customer_id"),
        Index("ix_customer_metafields_shop_key", "shop_id", "namespace", "key"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE")
    )
    namespace: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(Text)
    text_cf: Mapped[str | None] = mapped_column(Text)
    number_value: Mapped[float | None] = mapped_column(Float)
    date_value: Mapped[date | None]
    at_value: Mapped[datetime | None]
    bool_value: Mapped[bool | None] = mapped_column(Boolean)
    month_day: Mapped[int | None] = mapped_column(SmallInteger)


class CustomerCompany(Base):
    """A B2B company the customer buys for (a company contact of it), by the platform's
    company id; replaced whole per customer by the import and the periodic refresh."""

    __tablename__ = "customer_companies"
    __table_args__ = (
        Index("ix_customer_companies_customer", "customer_id"),
        Index("ix_customer_companies_shop_company", "shop_id", "company_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE")
    )
    company_id: Mapped[str] = mapped_column(String(64))


class StoreCreditAccount(Base):
    """A customer's store credit account (one per currency) as last read: the balance in
    minor units of the account's currency (`exponent` its ISO 4217 exponent)."""

    __tablename__ = "store_credit_accounts"
    __table_args__ = (Index("ix_store_credit_accounts_customer", "customer_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE")
    )
    account_id: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    exponent: Mapped[int] = mapped_column(SmallInteger)
    balance_minor: Mapped[int] = mapped_column(BigInteger)


class StoreCredit(Base):
    """A credit to a store credit account: when it was given, when what remains of it
    expires, and what remains (minor units of the account's currency). The next expiry and
    the last credit of an account are computed from these at evaluation time."""

    __tablename__ = "store_credits"
    __table_args__ = (Index("ix_store_credits_customer", "customer_id", "account_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE")
    )
    account_id: Mapped[str] = mapped_column(String(64))
    credited_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    remaining_minor: Mapped[int] = mapped_column(BigInteger)
