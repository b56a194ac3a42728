"""The inbox table: one row per verified webhook delivery, unique per (shop, webhook id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, BigIntPK, utcnow

# status values
PENDING = "pending"  # waiting to be processed (or retried at next_attempt_at)
AWAITING_INSTALL = "awaiting_install"  # verified, but the shop has no token yet
DONE = "done"
DUPLICATE = "duplicate"  # another delivery of the same event was processed
IGNORED = "ignored"  # a topic we receive but do not act on
DEAD = "dead"  # failed inbox_max_attempts times; kept with its error
REDACTED = "redacted"  # payload erased by a privacy request before processing


class InboxRow(Base):
    __tablename__ = "webhook_inbox"
    __table_args__ = (
        UniqueConstraint("platform", "shop_domain", "webhook_id"),
        Index("ix_webhook_inbox_status_next", "status", "next_attempt_at"),
        Index("ix_webhook_inbox_shop_status", "shop_domain", "status"),
        # The worker's "was this event already applied?" check reads by event id; without
        # it that check scans every processed row of the shop (measured in benchmarks).
        Index("ix_webhook_inbox_event", "platform", "shop_domain", "topic", "event_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32), default="shopify")
    shop_domain: Mapped[str] = mapped_column(String(255))
    shop_id: Mapped[int | None] = mapped_column(BigInteger)
    topic: Mapped[str] = mapped_column(String(128))
    webhook_id: Mapped[str] = mapped_column(String(255))
    event_id: Mapped[str | None] = mapped_column(String(255))
    api_version: Mapped[str | None] = mapped_column(String(32))
    triggered_at: Mapped[datetime | None]
    headers: Mapped[dict[str, Any]]
    # The raw body as received (UTF-8 JSON). Null once reduced to metadata or redacted.
    payload: Mapped[str | None] = mapped_column(Text)
    # Platform ids of the customers this delivery mentions, filled when processed,
    # so a redaction can find the rows without scanning payloads.
    subject_ids: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
