"""Outbox rows: one per call (or coalesced set of calls) the app owes a shop; kept as the audit.

A row is written in the transaction of the change that causes it, then delivered by the
outbox loop with retries. Rows are never deleted on delivery: they are the activity log
(what, why, when, attempts, result).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, BigIntPK, JSONType, shop_fk, utcnow

# Kinds of work.
TAGS = "tags"  # one customer's managed tags brought to the desired set (one coalesced call)
BULK_TAGS = "bulk_tags"  # many customers' tag changes through one bulk mutation
TAGS_IMPORT = "tags_import"  # every customer's current tags read through a bulk query
HISTORY_IMPORT = "history_import"  # the shop's history import, advanced until it is done
FLOW_TRIGGER = "flow_trigger"  # flowTriggerReceive
WEBHOOK = "webhook"  # the merchant's signed outbound webhook

# States.
PENDING = "pending"  # due at next_attempt_at
SENDING = "sending"  # claimed by a delivery loop (a bulk operation waits here while it runs)
DONE = "done"
DEAD = "dead"  # permanent failure; `last_error` says why; `shopseg outbox retry` re-queues
CANCELLED = "cancelled"  # no longer owed (the shop uninstalled, the trigger was cancelled)
STATES = (PENDING, SENDING, DONE, DEAD, CANCELLED)


class OutboxItem(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        # While a row is pending its coalesce_key is set, so later changes of the same
        # customer join it instead of adding a call; it is cleared when the row is claimed.
        UniqueConstraint("shop_id", "coalesce_key"),
        Index("ix_outbox_due", "state", "next_attempt_at"),
        Index("ix_outbox_shop_id", "shop_id", "id"),
        Index("ix_outbox_customer", "shop_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    kind: Mapped[str] = mapped_column(String(32))
    # The customer's surrogate id (no foreign key: the row is audit and outlives a merge;
    # a redaction deletes it through the privacy list).
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    coalesce_key: Mapped[str | None] = mapped_column(String(128))
    # What to send (kind-specific JSON); for TAGS the desired set is computed at delivery.
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Why: the segment slugs or the trigger name that caused it, for the activity log.
    why: Mapped[str] = mapped_column(String(512), default="")
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    # What was done (e.g. {"added": [...], "removed": [...]}), for the activity log.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the row last started a fresh set of attempts (`outbox retry` re-queues it): the
    # age limit counts from here; null means created_at.
    queued_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    done_at: Mapped[datetime | None]
