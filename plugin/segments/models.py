"""Segment tables: definitions, each customer's membership bits, stays and their events.

A shop's segments each own one slot (`Segment.bit`, 0..MAX_SEGMENTS-1). A customer's bits
are stored in words of 63 (bits 0..62 of a signed BIGINT), one `segment_state` row per
word: slot `b` is bit `b % 63` of word `b // 63`. Word 0's row exists once the customer
was evaluated (its mask may be 0); a higher word's row only once they held a bit in it,
so a shop with few segments stores one row per customer. In Python a customer's words
combine into one integer (`combine`), so slot `b` is simply bit `b` there. Memberships
and events keep the customer's surrogate id without a foreign key: the exit written when
a customer is redacted or merged away must outlive the customer row (no personal data).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import true

from plugin.db import Base, BigIntPK, shop_fk, utcnow

WORD_BITS = 63  # bits 0..62 of a signed 64-bit integer
WORD_MASK = (1 << WORD_BITS) - 1
MAX_WORDS = 16
MAX_SEGMENTS = WORD_BITS * MAX_WORDS  # 1,008 slots per shop

BUILTIN = "builtin"
CUSTOM = "custom"

ENTERED = "entered"
EXITED = "exited"

# Why a membership changed. Only realtime and sweep changes are caused by a customer's
# behaviour or by time passing; the others must not fire triggers (issue 4).
REALTIME = "realtime"
SWEEP = "sweep"
INITIAL = "initial"
RULE_EDIT = "rule_edit"
THRESHOLD = "threshold"
DISABLED = "disabled"
REDACTED = "redacted"
MERGED = "merged"
REASONS = (REALTIME, SWEEP, INITIAL, RULE_EDIT, THRESHOLD, DISABLED, REDACTED, MERGED)


class Segment(Base):
    __tablename__ = "segments"
    __table_args__ = (
        UniqueConstraint("shop_id", "slug"),
        UniqueConstraint("shop_id", "bit"),
        UniqueConstraint("shop_id", "builtin_key"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(255))
    query: Mapped[str] = mapped_column(Text)  # canonical text
    kind: Mapped[str] = mapped_column(String(16), default=CUSTOM)
    builtin_key: Mapped[str | None] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    tag: Mapped[str | None] = mapped_column(String(255))
    # Whether membership becomes the tag at the shop: off for built-ins until the merchant
    # chooses them (every built-in tagging every customer is noise), on for their own.
    push_tag: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    bit: Mapped[int] = mapped_column(SmallInteger)
    # Bumped by every edit: a sweep that read an older rule does not settle the new one.
    rule_version: Mapped[int] = mapped_column(Integer, default=1)
    # The reason the next evaluation gives this segment's changes (initial after install,
    # rule_edit after create/edit/enable); null once a full sweep has settled the rule.
    pending_reason: Mapped[str | None] = mapped_column(String(16))
    last_evaluated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SegmentState(Base):
    """One word of a customer's current membership bits (see the module docstring)."""

    __tablename__ = "segment_state"

    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk(), primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    word: Mapped[int] = mapped_column(
        SmallInteger, primary_key=True, default=0, server_default=text("0")
    )
    mask: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    evaluated_at: Mapped[datetime]


class SegmentDirty(Base):
    """A customer evaluated outside the sweep (real time) or whose inputs changed outside
    the event path since the last sweep: the next incremental sweep re-evaluates them
    whatever the clock did, then forgets them (`plugin.segments.evaluator_incremental`)."""

    __tablename__ = "segment_dirty"

    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk(), primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )


def word_of(bit: int) -> int:
    return bit // WORD_BITS


def word_flag(bit: int) -> int:
    """The slot's bit within its word's stored mask."""
    return 1 << (bit % WORD_BITS)


def word_part(bits: int, word: int) -> int:
    """One word of a combined mask, as stored."""
    return (bits >> (WORD_BITS * word)) & WORD_MASK


def combine(words: Iterable[tuple[int, int | None]]) -> int:
    """(word, stored mask) pairs as one integer in which slot `b` is bit `b`."""
    return sum((int(mask or 0) & WORD_MASK) << (WORD_BITS * word) for word, mask in words)


def holds_any(bits: int) -> ColumnElement[bool]:
    """A `segment_state` row holding any of these slots (a combined mask): one test per
    word they fall in, so a caller filters rows, not customers."""
    tests = [
        and_(SegmentState.word == word, SegmentState.mask.bitwise_and(part) != 0)
        for word in range(MAX_WORDS)
        if (part := word_part(bits, word))
    ]
    return or_(*tests) if tests else false()


class SegmentMembership(Base):
    """One stay of a customer in a segment; open while `exited_at` is null."""

    __tablename__ = "segment_memberships"
    __table_args__ = (
        Index("ix_segment_memberships_open", "shop_id", "segment_id", "exited_at"),
        # Closing one customer's stays must not read every open stay of the segment:
        # with all four columns SQLite (no statistics) prefers this over the index above.
        Index(
            "ix_segment_memberships_customer_stays",
            "shop_id",
            "customer_id",
            "segment_id",
            "exited_at",
        ),
        # Stays entered in a window (RFM movement, conversions): covering, no stay is read.
        Index(
            "ix_segment_memberships_entered",
            "shop_id",
            "segment_id",
            "entered_at",
            "entered_reason",
            "customer_id",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    segment_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("segments.id", ondelete="CASCADE")
    )
    customer_id: Mapped[int] = mapped_column(BigInteger)
    entered_at: Mapped[datetime]
    exited_at: Mapped[datetime | None]
    entered_reason: Mapped[str] = mapped_column(String(16))
    exited_reason: Mapped[str | None] = mapped_column(String(16))


class SegmentEvent(Base):
    """A segment-entered or -exited fact, written with the membership change it records."""

    __tablename__ = "segment_events"
    __table_args__ = (
        Index("ix_segment_events_shop_id", "shop_id", "id"),
        Index("ix_segment_events_customer", "shop_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    segment_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("segments.id", ondelete="CASCADE")
    )
    customer_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(8))  # entered | exited
    reason: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime]


class SegmentDaily(Base):
    """A segment's KPIs for one local day of its shop (the admin reads only this)."""

    __tablename__ = "segment_daily"

    segment_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk())
    size: Mapped[int] = mapped_column(Integer, default=0)
    revenue_90d_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    orders_90d: Mapped[int] = mapped_column(Integer, default=0)
    aov_minor: Mapped[int | None] = mapped_column(BigInteger)
    orders_per_member: Mapped[float | None] = mapped_column(Float)
    repeat_rate: Mapped[float | None] = mapped_column(Float)
    conversion_30d: Mapped[float | None] = mapped_column(Float)
    conversion_n: Mapped[int] = mapped_column(Integer, default=0)
    computed_at: Mapped[datetime]


class SegmentFlagDismissal(Base):
    """A health flag the merchant dismissed (e.g. `merge:vip:regular`); it stays hidden."""

    __tablename__ = "segment_flag_dismissals"

    shop_id: Mapped[int] = mapped_column(BigInteger, shop_fk(), primary_key=True)
    flag: Mapped[str] = mapped_column(String(255), primary_key=True)
    dismissed_at: Mapped[datetime]
