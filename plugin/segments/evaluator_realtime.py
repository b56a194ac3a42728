"""Real-time membership: re-evaluate the customers an event touched, inside its transaction.

The worker calls `subjects_before` before a delivery's handlers run (so customers the
handlers delete can still be named) and `reevaluate_subjects` after them. Rules with a
pending reason (just installed, created or edited) are left to the next sweep, so a
rule edit never looks like behaviour. Customers that vanished (redacted, deleted, merged
away) have their open memberships closed with reason `redacted` or `merged`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from plugin.events import CustomersMerged, Event, subject_customer_ids
from plugin.profiles.models import Customer
from plugin.segments.evaluator import (
    compile_context,
    enabled_rules,
    evaluate_batch,
    shop_lock,
)
from plugin.segments.evaluator_membership import Change, close_memberships
from plugin.segments.models import MAX_SEGMENTS, MERGED, REALTIME, REDACTED, SegmentMembership

ALL_BITS = (1 << MAX_SEGMENTS) - 1


def _surrogate_ids(session: Session, shop_id: int, platform_ids: Collection[str]) -> dict[int, str]:
    if not platform_ids:
        return {}
    rows = session.execute(
        select(Customer.id, Customer.platform_id).where(
            Customer.shop_id == shop_id, Customer.platform_id.in_(sorted(platform_ids))
        )
    )
    return {row.id: row.platform_id for row in rows}


def subjects_before(session: Session, shop_id: int, events: Sequence[Event]) -> dict[int, str]:
    """The stored customers these events are about, each with the reason their memberships
    close if the handlers remove them (`merged` for a merge's deleted side)."""
    merged_away = {e.deleted_id for e in events if isinstance(e, CustomersMerged)}
    platform_ids = {pid for event in events for pid in subject_customer_ids(event)}
    found = _surrogate_ids(session, shop_id, platform_ids)
    return {cid: MERGED if pid in merged_away else REDACTED for cid, pid in found.items()}


def reevaluate_subjects(
    session: Session,
    shop_id: int,
    events: Sequence[Event],
    before: Mapping[int, str],
    now: datetime,
) -> None:
    """After the handlers: the touched customers' memberships, reason `realtime`."""
    platform_ids = {pid for event in events for pid in subject_customer_ids(event)}
    ids = set(before) | set(_surrogate_ids(session, shop_id, platform_ids))
    if ids:
        evaluate_customers(session, shop_id, sorted(ids), now, gone=before)


def evaluate_customers(
    session: Session,
    shop_id: int,
    customer_ids: Sequence[int],
    now: datetime,
    reason: str = REALTIME,
    *,
    gone: Mapping[int, str] | None = None,
) -> list[Change]:
    """Re-evaluate these customers against every settled rule of the shop."""
    rules = enabled_rules(session, shop_id)
    if not rules:
        return []
    session.flush()
    shop_lock(session, shop_id)
    close_vanished(session, shop_id, now, customer_ids=customer_ids, reasons=gone or {})
    settled = [rule for rule in rules if rule.pending_reason is None]
    keep = ALL_BITS & ~sum(rule.flag for rule in settled)
    ctx = compile_context(session, shop_id, now, customer_ids=list(customer_ids))
    scope = Customer.id.in_(list(customer_ids))
    return evaluate_batch(session, shop_id, settled, ctx, reason, scope, keep=keep)


def close_vanished(
    session: Session,
    shop_id: int,
    now: datetime,
    *,
    customer_ids: Sequence[int] | None = None,
    reasons: Mapping[int, str] | None = None,
) -> int:
    """Close open memberships of customers no longer stored; `redacted` unless a reason is
    given (the state rows went with the customer row)."""
    gone = ~exists(select(Customer.id).where(Customer.id == SegmentMembership.customer_id))
    stmt = select(SegmentMembership.segment_id, SegmentMembership.customer_id).where(
        SegmentMembership.shop_id == shop_id, SegmentMembership.exited_at.is_(None), gone
    )
    if customer_ids is not None:
        stmt = stmt.where(SegmentMembership.customer_id.in_(list(customer_ids)))
    reasons = reasons or {}
    exits = [(seg, cid, reasons.get(cid, REDACTED)) for seg, cid in session.execute(stmt)]
    close_memberships(session, shop_id, exits, now)
    return len(exits)
