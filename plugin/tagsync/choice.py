"""The merchant's choice of which segments become tags at the shop ("push as a tag")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from plugin.segments.evaluator import shop_lock
from plugin.segments.models import Segment
from plugin.segments.services import find_segment
from plugin.tagsync.drift import repair_drift


def set_push_tag(
    session: Session, shop_id: int, name: str, push: bool, now: datetime
) -> tuple[Segment, int]:
    """Turn a segment's tag on or off at the shop; returns the segment and how many
    customers were queued (members gaining the tag, or carriers losing it).

    The drift repair is the one place that compares desired and known tags, so the switch
    queues exactly what differs (through the outbox, in bulk above the shop's threshold).
    While a bulk tag operation is unfinished it queues nothing: the repair after the next
    sweep does it.
    """
    segment = find_segment(session, shop_id, name)
    shop_lock(session, shop_id)
    if segment.push_tag == push:
        return segment, 0
    segment.push_tag = push
    segment.updated_at = now
    session.flush()
    return segment, repair_drift(session, shop_id, now)
