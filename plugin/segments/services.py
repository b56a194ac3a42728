"""Segment definitions: create, edit, enable and disable, sizes and members (one shop each).

Services take the session first and leave the commit to the caller. A query is parsed
before anything is written, so a bad query saves nothing; stored text is canonical.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session

from plugin.errors import NotFoundError, ValidationError
from plugin.profiles.models import Customer
from plugin.segments import evaluator_language as language
from plugin.segments.evaluator import shop_lock
from plugin.segments.evaluator_membership import close_memberships
from plugin.segments.models import (
    BUILTIN,
    CUSTOM,
    DISABLED,
    MAX_SEGMENTS,
    RULE_EDIT,
    Segment,
    SegmentDirty,
    SegmentEvent,
    SegmentMembership,
    SegmentState,
    holds_any,
    word_flag,
)

TAG_LIMIT = 255  # Shopify's limit on one customer tag


@dataclass(frozen=True)
class SegmentSummary:
    name: str
    slug: str
    kind: str
    enabled: bool
    size: int
    query: str
    tag: str | None
    last_evaluated_at: datetime | None
    # Customers the segment's tag could not be pushed to (their tag row is dead, e.g.
    # Shopify's 250-tags-per-customer limit); `shopseg outbox retry` tries them again.
    tag_refused: int = 0
    push_tag: bool = True  # members carry the tag at the shop


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    if not slug:
        raise ValidationError(f"segment name {name!r} needs at least one letter or digit")
    return slug


def canonical_query(text: str) -> str:
    """The canonical text of a query; raises `QueryError` (with position) when it is bad."""
    return str(language.parse(text).canonical)


def find_segment(session: Session, shop_id: int, name: str) -> Segment:
    """A shop's segment by name or slug (case-insensitive)."""
    slug = slugify(name)
    segment = session.scalar(
        select(Segment).where(Segment.shop_id == shop_id, Segment.slug == slug)
    )
    if segment is None:
        raise NotFoundError(f"no segment named {name!r} (see `shopseg segments list`)")
    return segment


def _free_bit(session: Session, shop_id: int) -> int:
    # Deleting a segment (plugin/segments/removal.py) removes its stays and clears its
    # bit everywhere first, so a freed bit carries nothing over to its next segment.
    used = set(session.scalars(select(Segment.bit).where(Segment.shop_id == shop_id)))
    for bit in range(MAX_SEGMENTS):
        if bit not in used:
            return bit
    raise ValidationError(f"a shop can hold at most {MAX_SEGMENTS} segments")


def _check_tag(tag: str | None) -> str | None:
    tag = tag.strip() if tag else None
    if tag and len(tag) > TAG_LIMIT:
        raise ValidationError(f"a tag has at most {TAG_LIMIT} characters")
    return tag or None


def _check_shop_tag(session: Session, shop_id: int, slug: str, tag: str | None) -> None:
    """The tag the segment writes (the shop's prefix added) must fit Shopify's limits."""
    from plugin.tagsync.tags import check_segment_tag  # tag sync builds on segments

    check_segment_tag(session, shop_id, slug, tag)


def add_segment(
    session: Session,
    shop_id: int,
    name: str,
    query: str,
    *,
    now: datetime,
    kind: str = CUSTOM,
    builtin_key: str | None = None,
    tag: str | None = None,
    pending_reason: str = RULE_EDIT,
    push_tag: bool | None = None,
) -> Segment:
    """Store a segment whose query text is already canonical, on a free bit. `push_tag`
    defaults to off for built-ins and on for the merchant's own segments."""
    slug = slugify(name)
    taken = select(Segment.id).where(Segment.shop_id == shop_id, Segment.slug == slug)
    if session.scalar(taken) is not None:
        raise ValidationError(f"a segment named {name!r} already exists")
    _check_shop_tag(session, shop_id, slug, tag)
    segment = Segment(
        shop_id=shop_id,
        name=name.strip(),
        slug=slug,
        query=query,
        kind=kind,
        builtin_key=builtin_key,
        tag=_check_tag(tag),
        push_tag=kind != BUILTIN if push_tag is None else push_tag,
        bit=_free_bit(session, shop_id),
        enabled=True,
        rule_version=1,
        pending_reason=pending_reason,
        created_at=now,
        updated_at=now,
    )
    session.add(segment)
    session.flush()
    return segment


def create_segment(
    session: Session,
    shop_id: int,
    name: str,
    query: str,
    *,
    now: datetime,
    tag: str | None = None,
    push_tag: bool = True,
) -> Segment:
    """A merchant's segment: parsed first; its first evaluation gives reason `rule_edit`."""
    query = canonical_query(query)
    return add_segment(session, shop_id, name, query, now=now, tag=tag, push_tag=push_tag)


def edit_segment(
    session: Session, shop_id: int, name: str, query: str, *, now: datetime
) -> Segment:
    """New rules: the next evaluation moves members with reason `rule_edit`."""
    text = canonical_query(query)
    segment = find_segment(session, shop_id, name)
    shop_lock(session, shop_id)
    if text != segment.query:
        segment.query = text
        segment.rule_version += 1
        segment.pending_reason = RULE_EDIT
        segment.updated_at = now
    session.flush()
    return segment


def disable_segment(session: Session, shop_id: int, name: str, *, now: datetime) -> int:
    """Switch a segment off: its open memberships close with reason `disabled` and its bit
    is cleared. Returns how many memberships closed."""
    segment = find_segment(session, shop_id, name)
    shop_lock(session, shop_id)
    if not segment.enabled:
        return 0
    segment.enabled = False
    segment.updated_at = now
    members = session.scalars(
        select(SegmentMembership.customer_id).where(
            SegmentMembership.shop_id == shop_id,
            SegmentMembership.segment_id == segment.id,
            SegmentMembership.exited_at.is_(None),
        )
    ).all()
    close_memberships(session, shop_id, [(segment.id, c, DISABLED) for c in members], now)
    flag = word_flag(segment.bit)
    session.execute(
        update(SegmentState)
        .where(SegmentState.shop_id == shop_id, holds_any(1 << segment.bit))
        .values(mask=SegmentState.mask - flag, version=SegmentState.version + 1)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return len(members)


def enable_segment(session: Session, shop_id: int, name: str, *, now: datetime) -> Segment:
    """Switch a segment back on; its members return at the next evaluation (`rule_edit`)."""
    segment = find_segment(session, shop_id, name)
    shop_lock(session, shop_id)
    if not segment.enabled:
        segment.enabled = True
        segment.rule_version += 1
        segment.pending_reason = RULE_EDIT
        segment.updated_at = now
    session.flush()
    return segment


def segment_summaries(session: Session, shop_id: int) -> list[SegmentSummary]:
    from plugin.tagsync.drift import tag_problems  # tag sync builds on segments

    refused = tag_problems(session, shop_id)
    sizes = dict(
        session.execute(
            select(SegmentMembership.segment_id, func.count())
            .where(SegmentMembership.shop_id == shop_id, SegmentMembership.exited_at.is_(None))
            .group_by(SegmentMembership.segment_id)
        )
        .tuples()
        .all()
    )
    segments = session.scalars(
        select(Segment).where(Segment.shop_id == shop_id).order_by(Segment.bit)
    )
    return [
        SegmentSummary(
            s.name,
            s.slug,
            s.kind,
            s.enabled,
            sizes.get(s.id, 0),
            s.query,
            s.tag,
            s.last_evaluated_at,
            refused.get(s.id, 0),
            s.push_tag,
        )
        for s in segments
    ]


def member_ids(session: Session, shop_id: int, segment: Segment) -> list[str]:
    """Platform ids of the segment's current members, in surrogate-id order."""
    stmt = (
        select(Customer.platform_id)
        .join(SegmentMembership, SegmentMembership.customer_id == Customer.id)
        .where(
            SegmentMembership.shop_id == shop_id,
            SegmentMembership.segment_id == segment.id,
            SegmentMembership.exited_at.is_(None),
            Customer.shop_id == shop_id,
        )
        .order_by(Customer.id)
    )
    return list(session.scalars(stmt))


# --- privacy: what a data request exports and a redaction erases ----------------------------


def export_memberships(session: Session, shop_id: int, customer_id: int) -> list[dict[str, Any]]:
    """A customer's segment stays, for a data request."""
    stmt = (
        select(
            Segment.name,
            SegmentMembership.entered_at,
            SegmentMembership.exited_at,
            SegmentMembership.entered_reason,
            SegmentMembership.exited_reason,
        )
        .join(Segment, Segment.id == SegmentMembership.segment_id)
        .where(SegmentMembership.shop_id == shop_id, SegmentMembership.customer_id == customer_id)
        .order_by(SegmentMembership.id)
    )
    return [
        {
            "segment": row.name,
            "entered_at": row.entered_at.isoformat(),
            "exited_at": row.exited_at.isoformat() if row.exited_at else None,
            "entered_reason": row.entered_reason,
            "exited_reason": row.exited_reason,
        }
        for row in session.execute(stmt)
    ]


def erase_memberships(session: Session, shop_id: int, customer_id: int) -> int:
    """A redacted customer's segment history goes entirely (state, stays, events and the
    sweep's mark): a redaction leaves nothing to close. Returns rows deleted."""
    deleted = 0
    for model in (SegmentEvent, SegmentMembership, SegmentState, SegmentDirty):
        result = session.execute(
            delete(model)
            .where(model.shop_id == shop_id, model.customer_id == customer_id)
            .execution_options(synchronize_session=False)
        )
        deleted += cast(CursorResult[Any], result).rowcount
    return deleted
