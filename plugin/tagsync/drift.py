"""Drift repair after sweeps, and the tag problems a segment shows.

Desired tags (`plugin.tagsync.desired`: enabled segments by mask, active trigger tags) are
compared with known tags (present managed tags) for all customers of a shop in SQL, one
statement per segment tag: a managed tag the merchant removed by hand is queued to come
back, a stale one (or an expired trigger tag) to go. Customers whose last tag push
was refused (dead) are left alone until `shopseg outbox retry`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from plugin.outbox.models import BULK_TAGS, DEAD, DONE, PENDING, SENDING, TAGS, OutboxItem
from plugin.profiles.customer_tags import tag_key
from plugin.profiles.models import CustomerTag
from plugin.profiles.shop_settings import set_setting, setting_value
from plugin.runtime import Runtime
from plugin.segments.models import Segment, SegmentState, holds_any
from plugin.shops.models import ShopSetting
from plugin.tagsync.desired import desired_tags, plan_customers
from plugin.tagsync.listener import queue_tag_work
from plugin.tagsync.tags import SegmentTag, managed_tag_cfs, segment_tags

CHECKED_AT = "tagsync.drift_checked_at"  # the last sweep drift repair looked after
DRIFT = "drift"

log = logging.getLogger(__name__)


def repair_drift(session: Session, shop_id: int, now: datetime) -> int:
    """Queue tag rows for every customer whose known managed tags differ from the desired
    ones; returns how many customers. Waits (returns 0) while a bulk tag row is unfinished:
    its customers' known tags are only recorded when it completes."""
    if _bulk_unfinished(session, shop_id):
        return 0
    desired = desired_tags(session, shop_id, now)
    drifted: set[int] = set()
    for tag in desired.segments:
        if tag.pushed:
            drifted |= _missing(session, shop_id, tag)
    # Active trigger tags are few (recent firings): their holders are planned one by one.
    holders = plan_customers(session, shop_id, desired.triggers, now, desired)
    drifted |= {c for c, plan in holders.items() if not plan.empty}
    for cf in managed_tag_cfs(session, shop_id):
        stale = _stale(session, shop_id, cf, desired.segment_bits(cf))
        drifted |= stale - desired.trigger_holders(cf)
    drifted -= left_alone(session, shop_id)
    if drifted:
        queue_tag_work(session, shop_id, dict.fromkeys(drifted, DRIFT), now)
        log.info("tagsync.drift shop_id=%s customers=%d", shop_id, len(drifted))
    return len(drifted)


def _missing(session: Session, shop_id: int, tag: SegmentTag) -> set[int]:
    """Members of the segment not known to carry its tag."""
    carries = exists().where(
        CustomerTag.customer_id == SegmentState.customer_id,
        CustomerTag.tag_cf == tag.tag_cf,
        CustomerTag.present.is_(True),
    )
    stmt = select(SegmentState.customer_id).where(
        SegmentState.shop_id == shop_id,
        holds_any(1 << tag.bit),
        ~carries,
    )
    return set(session.scalars(stmt))


def _stale(session: Session, shop_id: int, cf: str, flags: int) -> set[int]:
    """Customers known to carry the managed tag `cf` without being in a segment writing it
    (`flags`: those segments' bits)."""
    member = exists().where(
        SegmentState.shop_id == shop_id,
        SegmentState.customer_id == CustomerTag.customer_id,
        holds_any(flags),
    )
    stmt = select(CustomerTag.customer_id).where(
        CustomerTag.shop_id == shop_id,
        CustomerTag.tag_cf == cf,
        CustomerTag.present.is_(True),
    )
    if flags:
        stmt = stmt.where(~member)
    return set(session.scalars(stmt))


def left_alone(session: Session, shop_id: int) -> set[int]:
    """Customers with a tag row on its way, or whose last tag row is dead."""
    busy = select(OutboxItem.customer_id).where(
        OutboxItem.shop_id == shop_id,
        OutboxItem.kind == TAGS,
        OutboxItem.state.in_((PENDING, SENDING)),
    )
    busy_ids = {c for c in session.scalars(busy) if c is not None}
    return busy_ids | set(_refused(session, shop_id))


def _refused(session: Session, shop_id: int) -> dict[int, OutboxItem]:
    """Each customer's dead tag row with no later done row: the shop refused the push."""
    later = aliased(OutboxItem)
    superseded = exists().where(
        later.shop_id == shop_id,
        later.customer_id == OutboxItem.customer_id,
        later.kind == TAGS,
        later.state == DONE,
        later.id > OutboxItem.id,
    )
    rows = session.scalars(
        select(OutboxItem)
        .where(
            OutboxItem.shop_id == shop_id,
            OutboxItem.kind == TAGS,
            OutboxItem.state == DEAD,
            ~superseded,
        )
        .order_by(OutboxItem.id)
    )
    return {row.customer_id: row for row in rows if row.customer_id is not None}


def _bulk_unfinished(session: Session, shop_id: int) -> bool:
    stmt = select(OutboxItem.id).where(
        OutboxItem.shop_id == shop_id,
        OutboxItem.kind == BULK_TAGS,
        OutboxItem.state.in_((PENDING, SENDING)),
    )
    return session.scalar(stmt.limit(1)) is not None


def tag_problems(session: Session, shop_id: int) -> dict[int, int]:
    """Per segment id, how many customers its tag could not be pushed to (their tag row is
    dead, e.g. Shopify's 250-tags limit); `shopseg outbox retry` tries them again."""
    tags = segment_tags(session, shop_id)
    segments_of: dict[str, list[int]] = defaultdict(list)
    for tag in tags:
        segments_of[tag.tag_cf].append(tag.segment_id)
    customers: dict[int, set[int]] = defaultdict(set)
    for customer_id, row in _refused(session, shop_id).items():
        attempted = (row.result or {}).get("attempted") or {}
        for tag in attempted.get("added") or ():
            for segment_id in segments_of.get(tag_key(tag), ()):
                customers[segment_id].add(customer_id)
    return {segment_id: len(ids) for segment_id, ids in customers.items()}


def repair_if_swept(runtime: Runtime, shop_id: int, now: datetime) -> int:
    with runtime.sessions.begin() as session:
        swept = _last_sweep(session, shop_id)
        if swept is None or swept.isoformat() <= _checked(session, shop_id):
            return 0
        if _bulk_unfinished(session, shop_id):
            return 0  # a later run repairs, once the bulk row is done
        queued = repair_drift(session, shop_id, now)
        set_setting(session, shop_id, CHECKED_AT, swept.isoformat())
        return queued


def _last_sweep(session: Session, shop_id: int) -> datetime | None:
    return session.scalar(
        select(func.max(Segment.last_evaluated_at)).where(
            Segment.shop_id == shop_id, Segment.enabled.is_(True)
        )
    )


def _checked(session: Session, shop_id: int) -> str:
    row = session.get(ShopSetting, (shop_id, CHECKED_AT))
    value = setting_value(CHECKED_AT, row.value) if row is not None else None
    return str(value or "")
