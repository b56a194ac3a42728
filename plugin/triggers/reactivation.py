"""The reactivation trigger: a customer entering the Inactive segment (a membership listener).

Only entries caused by behaviour or by time passing (reasons `realtime`, `sweep`) fire; a
first evaluation, backfill or rule edit never does. One firing per stay in the segment
(dedupe key `reactivation:<customer>:<membership id>`), so once per inactivity period; a
customer who leaves the segment before it fires has their pending firing cancelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from plugin.segments.listeners import MembershipChange
from plugin.segments.models import ENTERED, EXITED, REALTIME, SWEEP, Segment, SegmentMembership
from plugin.triggers import firings
from plugin.triggers import settings as trigger_settings
from plugin.triggers.catalogue import REACTIVATION
from plugin.triggers.models import TriggerSetting

FIRING_REASONS = (REALTIME, SWEEP)
CHUNK = 1000


def on_membership_changes(
    session: Session, shop_id: int, changes: Sequence[MembershipChange], now: datetime
) -> None:
    """Listener (plugin.segments.listeners): schedule or cancel reactivation firings."""
    # Runs for every real-time event: only an exit, or an entry that may fire, is worth a
    # look, and only when its segment could be the configured one (one query).
    relevant = [c for c in changes if c.kind == EXITED or c.reason in FIRING_REASONS]
    if not relevant or not _could_care(session, shop_id, {c.segment_id for c in relevant}):
        return
    values = trigger_settings.load(session, shop_id, REACTIVATION)
    segment = _segment(session, shop_id, values["segment"])
    if segment is None:
        return
    mine = [c for c in changes if c.segment_id == segment.id]
    exits = {c.customer_id: c.reason for c in mine if c.kind == EXITED}
    if exits:  # one query for every customer who left, not one each
        for firing in firings.pending_of_customers(session, shop_id, REACTIVATION, [*exits]):
            why = f"left {segment.slug} ({exits[firing.customer_id]})"  # type: ignore[index]
            firings.cancel(session, shop_id, [firing], why, now)
    entered = [c for c in mine if c.kind == ENTERED and c.reason in FIRING_REASONS]
    if not entered or not values["enabled"]:
        return
    stays = _open_stays(session, segment.id, [c.customer_id for c in entered])
    for change in entered:
        stay = stays.get(change.customer_id, now.date().isoformat())
        firings.schedule(
            session,
            shop_id,
            REACTIVATION,
            f"reactivation:{change.customer_id}:{stay}",
            due_at=now,
            why=f"entered {segment.slug} ({change.reason})",
            now=now,
            customer_id=change.customer_id,
            payload={"segment": segment.name},
        )


def _could_care(session: Session, shop_id: int, segment_ids: set[int]) -> bool:
    """Whether one of these segments has the configured key (default `inactive`) as its
    built-in key or slug: the segments and the setting in one round trip."""
    setting = (
        select(TriggerSetting.shop_id, TriggerSetting.settings)
        .where(TriggerSetting.shop_id == shop_id, TriggerSetting.name == REACTIVATION)
        .subquery()
    )
    rows = session.execute(
        select(Segment.builtin_key, Segment.slug, setting.c.settings)
        .outerjoin(setting, setting.c.shop_id == Segment.shop_id)
        .where(Segment.shop_id == shop_id, Segment.id.in_(segment_ids))
    )
    default = trigger_settings.DEFAULTS[REACTIVATION]["segment"]
    for builtin_key, slug, stored in rows:
        key = (stored or {}).get("segment") or default
        if key in (builtin_key, slug):
            return True
    return False


def _segment(session: Session, shop_id: int, key: str) -> Segment | None:
    """The configured segment: a built-in key (default `inactive`) or a segment's slug."""
    stmt = select(Segment).where(
        Segment.shop_id == shop_id, or_(Segment.builtin_key == key, Segment.slug == key)
    )
    return session.scalars(stmt.order_by(Segment.builtin_key.is_(None))).first()


def _open_stays(session: Session, segment_id: int, customer_ids: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(customer_ids), CHUNK):
        stmt = select(SegmentMembership.customer_id, SegmentMembership.id).where(
            SegmentMembership.segment_id == segment_id,
            SegmentMembership.customer_id.in_(customer_ids[start : start + CHUNK]),
            SegmentMembership.exited_at.is_(None),
        )
        found.update({row.customer_id: str(row.id) for row in session.execute(stmt)})
    return found
