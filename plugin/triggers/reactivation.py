"""The reactivation trigger: a customer entering the Inactive segment (a membership listener).

Only entries caused by behaviour or by time passing (reasons `realtime`, `sweep`) fire; a
first evaluation, backfill or rule edit never does, and its entries are kept as skipped
firings with that reason. One firing per stay in the segment
(dedupe key `reactivation:<customer>:<membership id>`), so once per inactivity period; a
customer who leaves the segment before it fires has their pending firing cancelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from plugin.segments.listeners import MembershipChange
from plugin.segments.models import (
    ENTERED,
    EXITED,
    INITIAL,
    MERGED,
    REALTIME,
    RULE_EDIT,
    SWEEP,
    THRESHOLD,
    Segment,
    SegmentMembership,
)
from plugin.triggers import firings
from plugin.triggers import settings as trigger_settings
from plugin.triggers.catalogue import REACTIVATION
from plugin.triggers.models import TriggerSetting

FIRING_REASONS = (REALTIME, SWEEP)
# How a customer entered without behaviour, for the skipped firing's reason.
NOT_BEHAVIOUR = {
    INITIAL: "when the app first evaluated the segment (history)",
    RULE_EDIT: "because the segment's rules were edited or it was switched on",
    THRESHOLD: "because the RFM or VIP thresholds moved",
    MERGED: "through a merge of two customers",
}
CHUNK = 1000


def on_membership_changes(
    session: Session, shop_id: int, changes: Sequence[MembershipChange], now: datetime
) -> None:
    """Listener (plugin.segments.listeners): schedule or cancel reactivation firings."""
    # Runs for every real-time event: only changes of a segment that could be the
    # configured one are worth a look (one query tells).
    if not changes or not _could_care(session, shop_id, {c.segment_id for c in changes}):
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
    arrivals = [c for c in mine if c.kind == ENTERED]
    if not arrivals or not values["enabled"]:
        return
    stays = _open_stays(session, shop_id, segment.id, [c.customer_id for c in arrivals])
    _record_history(session, shop_id, segment, arrivals, stays, now)
    for change in (c for c in arrivals if c.reason in FIRING_REASONS):
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


def _record_history(
    session: Session,
    shop_id: int,
    segment: Segment,
    arrivals: Sequence[MembershipChange],
    stays: dict[int, str],
    now: datetime,
) -> None:
    """Entries that may not fire (history, a rule edit, moved thresholds) become skipped
    firings of their stay, with the reason: a first evaluation records them all at once."""
    skips = [
        firings.Skip(
            f"reactivation:{c.customer_id}:{stays.get(c.customer_id, now.date().isoformat())}",
            c.customer_id,
            f"entered {segment.slug} ({c.reason})",
            _not_behaviour(segment.name, c.reason),
        )
        for c in arrivals
        if c.reason not in FIRING_REASONS
    ]
    firings.record_skipped(session, shop_id, REACTIVATION, skips, now)


def _not_behaviour(segment: str, reason: str) -> str:
    how = NOT_BEHAVIOUR.get(reason, f"by a change of kind {reason!r}")
    return f"entered {segment} {how}, not by the customer's behaviour or time passing"


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


def _open_stays(
    session: Session, shop_id: int, segment_id: int, customer_ids: list[int]
) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(customer_ids), CHUNK):
        # Every index of memberships leads with the shop: without it, each chunk read the
        # whole table (5 s a chunk at 1M customers on PostgreSQL).
        stmt = select(SegmentMembership.customer_id, SegmentMembership.id).where(
            SegmentMembership.shop_id == shop_id,
            SegmentMembership.segment_id == segment_id,
            SegmentMembership.customer_id.in_(customer_ids[start : start + CHUNK]),
            SegmentMembership.exited_at.is_(None),
        )
        found.update({row.customer_id: str(row.id) for row in session.execute(stmt)})
    return found
