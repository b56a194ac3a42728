"""Membership changes become outbox rows in the same transaction: one coalesced tag row per
customer, or one bulk row when a single change set is larger than the shop's threshold.

This runs for every real-time event, so it does the least it can: one read of the changed
segments' slugs (for the row's `why`), one upsert; the managed tags are synced by their
readers (delivery, bulk, drift repair) instead of here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.billing.limits import overage
from plugin.outbox.models import BULK_TAGS, TAGS
from plugin.outbox.services import enqueue, enqueue_for_customers
from plugin.segments.listeners import MembershipChange
from plugin.segments.models import MERGED, REDACTED, Segment
from plugin.tagsync.tags import bulk_threshold

# The customer is being erased or merged away: there is nothing left to tag.
SKIPPED_REASONS = (REDACTED, MERGED)
TAGS_KEY = "tags:"
BULK_KEY = "bulk_tags"


def on_membership_changes(
    session: Session, shop_id: int, changes: Sequence[MembershipChange], now: datetime
) -> None:
    """Queue the tag work these membership changes cause (computed at delivery)."""
    counted = [c for c in changes if c.reason not in SKIPPED_REASONS]
    if not counted:
        return
    slugs = segment_slugs(session, shop_id, {c.segment_id for c in counted})
    whys: dict[int, set[str]] = defaultdict(set)
    for change in counted:
        whys[change.customer_id].add(slugs.get(change.segment_id, str(change.segment_id)))
    queue_tag_work(session, shop_id, {c: ",".join(sorted(w)) for c, w in whys.items()}, now)


def segment_slugs(session: Session, shop_id: int, wanted: Collection[int]) -> dict[int, str]:
    """Slugs of these segments of the shop: a primary-key read of the changed ones only. (A
    process-wide cache would be wrong: a redacted shop's segment ids can be reused.)"""
    stmt = select(Segment.id, Segment.slug).where(
        Segment.shop_id == shop_id, Segment.id.in_(sorted(wanted))
    )
    return dict(session.execute(stmt).tuples().all())


def queue_tag_work(session: Session, shop_id: int, whys: dict[int, str], now: datetime) -> None:
    """Tag rows for these customers (why per customer), or one bulk row over the threshold.
    One customer never makes a bulk row (the threshold is at least 1): no setting read.
    Nothing is queued while the shop is over its plan's limit: the drift repair that runs
    when the limit lifts queues what the shop then lacks."""
    if overage(session, shop_id) is not None:
        return
    if len(whys) > 1 and len(whys) > bulk_threshold(session, shop_id):
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
    queue_tag_rows(session, shop_id, whys, now)


def queue_tag_rows(session: Session, shop_id: int, whys: dict[int, str], now: datetime) -> None:
    """One coalesced tag row per customer (why per customer), never a bulk row."""
    enqueue_for_customers(session, shop_id, TAGS, whys, now=now, key_prefix=TAGS_KEY)
