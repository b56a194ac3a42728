"""Trigger settings per shop, checkout recovery journeys and every trigger firing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, BigIntPK, JSONType, shop_fk, utcnow


class TriggerSetting(Base):
    """A trigger's switch and settings for one shop; a missing row means the defaults."""

    __tablename__ = "trigger_settings"

    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk(), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CheckoutJourney(Base):
    """One checkout token's recovery state: started -> idle -> abandoned -> recovered/expired."""

    __tablename__ = "checkout_journeys"
    __table_args__ = (
        UniqueConstraint("shop_id", "checkout_token"),
        Index("ix_checkout_journeys_due", "state", "next_step_at"),
        Index("ix_checkout_journeys_customer", "shop_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    checkout_token: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    step: Mapped[int] = mapped_column(Integer, default=0)  # delay steps already fired
    # When the checkout started (the shop's created_at): an order by the same customer
    # after this moment recovers it, whichever checkout the order came through.
    started_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime]
    next_step_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TriggerFiring(Base):
    """One decision to fire a trigger for a customer (or a guest checkout), and its fate."""

    __tablename__ = "trigger_firings"
    __table_args__ = (
        UniqueConstraint("trigger_id"),
        # At most one firing per cause: duplicated deliveries of the same event collapse.
        UniqueConstraint("shop_id", "dedupe_key"),
        Index("ix_trigger_firings_due", "state", "due_at"),
        Index("ix_trigger_firings_customer", "shop_id", "customer_id", "fired_at"),
        # Tag sync reads a shop's active (and just expired) short-lived trigger tags.
        Index("ix_trigger_firings_tag_until", "shop_id", "tag_until"),
        # A data subject's guest firings are found by their checkouts' tokens.
        Index("ix_trigger_firings_checkout", "shop_id", "checkout_token"),
        # The latest decisions that sent nothing (Activity page, `activity --skipped`) and
        # the skip reasons per trigger read this instead of every firing of the shop.
        Index("ix_trigger_firings_state", "shop_id", "state", "updated_at"),
        # The counts per trigger and state (Triggers page, /api/triggers) and the conversion
        # check of fired ones (customer, fired_at) come from the index alone.
        Index(
            "ix_trigger_firings_name_state", "shop_id", "name", "state", "fired_at", "customer_id"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    name: Mapped[str] = mapped_column(String(64))
    trigger_id: Mapped[str] = mapped_column(String(64))  # uuid4, sent to receivers
    dedupe_key: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    checkout_token: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))  # scheduled|deferred|fired|cancelled|skipped
    due_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    why: Mapped[str] = mapped_column(String(255), default="")
    detail: Mapped[str | None] = mapped_column(Text)  # why skipped or deferred
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # The short-lived tag this firing put on the customer, and until when (also in
    # `payload.tag`): tag sync adds it to the customer's desired tags while it lasts.
    tag: Mapped[str | None] = mapped_column(String(255))
    tag_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
