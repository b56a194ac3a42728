"""Membership changes become outbox rows in the same transaction: one coalesced tag row per
customer, or one bulk row when a single change set is larger than the shop's threshold."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.outbox.models import BULK_TAGS, TAGS
from plugin.outbox.services import enqueue, enqueue_for_customers
from plugin.segments.listeners import MembershipChange
from plugin.segments.models import MERGED, REDACTED, Segment
from plugin.tagsync.tags import bulk_threshold, sync_managed_tags

# The customer is being erased or merged away: there is nothing left to tag.
SKIPPED_REASONS = (REDACTED, MERGED)
TAGS_KEY = "tags:"
BULK_KEY = "bulk_tags"


def on_membership_changes(
    session: Session, shop_id: int, changes: Sequence[MembershipChange], now: datetime
) -> None:
    """Queue the tag work these membership changes cause (computed at delivery)."""
    slugs = dict(
        session.execute(select(Segment.id, Segment.slug).where(Segment.shop_id == shop_id))
        .tuples()
        .all()
    )
    whys: dict[int, set[str]] = defaultdict(set)
    for change in changes:
        if change.reason not in SKIPPED_REASONS:
            whys[change.customer_id].add(slugs.get(change.segment_id, str(change.segment_id)))
    if not whys:
        return
    sync_managed_tags(session, shop_id)
    queue_tag_work(session, shop_id, {c: ",".join(sorted(w)) for c, w in whys.items()}, now)


def queue_tag_work(session: Session, shop_id: int, whys: dict[int, str], now: datetime) -> None:
    """Tag rows for these customers (why per customer), or one bulk row over the threshold."""
    if len(whys) > bulk_threshold(session, shop_id):
        reasons = sorted({r for why in whys.values() for r in why.split(",") if r})
        enqueue(
            session,
            shop_id,
            BULK_TAGS,
            payload={"customers": sorted(whys)},
            why=",".join(reasons),
            now=now,
            coalesce_key=BULK_KEY,
        )
        return
    enqueue_for_customers(session, shop_id, TAGS, whys, now=now, key_prefix=TAGS_KEY)
