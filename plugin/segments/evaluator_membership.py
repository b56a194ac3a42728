"""Writing a membership diff: state masks, membership stays and entered/exited events.

Called in the transaction that computed the diff, so a state row, its memberships and its
events always commit together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, exists, insert, select, update
from sqlalchemy.orm import Session

from plugin.membership_listeners import notify
from plugin.profiles.models import Customer
from plugin.segments.listeners import MembershipChange
from plugin.segments.models import (
    ENTERED,
    EXITED,
    MAX_WORDS,
    REDACTED,
    SegmentEvent,
    SegmentMembership,
    SegmentState,
    word_part,
)

CHUNK = 1000


@dataclass(frozen=True)
class Change:
    """One customer's new bits (combined over words) and, per flipped bit, the reason."""

    customer_id: int
    new: bool  # never evaluated: no word-0 state row yet
    before: int
    after: int
    flips: dict[int, str]
    stored_words: frozenset[int] = frozenset()  # the words with a state row already

    def words_to_write(self) -> list[int]:
        """Word 0 on a first evaluation (it marks one), and every word whose bits moved."""
        moved = self.before ^ self.after
        return [w for w in range(MAX_WORDS) if word_part(moved, w) or (w == 0 and self.new)]


def write_changes(
    session: Session,
    shop_id: int,
    changes: Sequence[Change],
    segment_of_bit: Mapping[int, int],
    now: datetime,
) -> None:
    if not changes:
        return
    _write_state(session, shop_id, changes, now)
    entered, exited = _split(changes, segment_of_bit)
    open_memberships(session, shop_id, entered, now)
    close_memberships(session, shop_id, exited, now)


def _write_state(session: Session, shop_id: int, changes: Sequence[Change], now: datetime) -> None:
    fresh: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    for c in changes:
        for word in c.words_to_write():
            mask = word_part(c.after, word)
            if word in c.stored_words:
                moved.append({"b_customer": c.customer_id, "b_word": word, "b_mask": mask})
            else:
                fresh.append(
                    {
                        "shop_id": shop_id,
                        "customer_id": c.customer_id,
                        "word": word,
                        "mask": mask,
                        "evaluated_at": now,
                    }
                )
    if fresh:
        session.execute(insert(SegmentState), fresh)
    if moved:
        table = SegmentState.__table__
        assert isinstance(table, Table)
        stmt = (
            update(table)
            .where(
                table.c.shop_id == shop_id,
                table.c.customer_id == bindparam("b_customer"),
                table.c.word == bindparam("b_word"),
            )
            .values(mask=bindparam("b_mask"), version=table.c.version + 1, evaluated_at=now)
        )
        session.execute(stmt, moved)


def _split(
    changes: Sequence[Change], segment_of_bit: Mapping[int, int]
) -> tuple[list[tuple[int, int, str]], list[tuple[int, int, str]]]:
    """(segment id, customer id, reason) entered and exited."""
    entered: list[tuple[int, int, str]] = []
    exited: list[tuple[int, int, str]] = []
    for change in changes:
        for bit, reason in change.flips.items():
            item = (segment_of_bit[bit], change.customer_id, reason)
            (entered if change.after >> bit & 1 else exited).append(item)
    return entered, exited


def open_memberships(
    session: Session, shop_id: int, entered: Sequence[tuple[int, int, str]], now: datetime
) -> None:
    if not entered:
        return
    session.execute(
        insert(SegmentMembership),
        [
            {
                "shop_id": shop_id,
                "segment_id": segment_id,
                "customer_id": customer_id,
                "entered_at": now,
                "entered_reason": reason,
            }
            for segment_id, customer_id, reason in entered
        ],
    )
    _events(session, shop_id, ENTERED, entered, now)


def close_memberships(
    session: Session, shop_id: int, exited: Sequence[tuple[int, int, str]], now: datetime
) -> None:
    """Close the open stays of these (segment, customer) pairs, with an exited event each."""
    if not exited:
        return
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for segment_id, customer_id, reason in exited:
        groups[(segment_id, reason)].append(customer_id)
    for (segment_id, reason), customer_ids in groups.items():
        for chunk in _chunks(customer_ids):
            session.execute(
                update(SegmentMembership)
                .where(
                    SegmentMembership.shop_id == shop_id,
                    SegmentMembership.segment_id == segment_id,
                    SegmentMembership.customer_id.in_(chunk),
                    SegmentMembership.exited_at.is_(None),
                )
                .values(exited_at=now, exited_reason=reason)
                .execution_options(synchronize_session=False)
            )
    _events(session, shop_id, EXITED, exited, now)


def _events(
    session: Session,
    shop_id: int,
    kind: str,
    items: Sequence[tuple[int, int, str]],
    now: datetime,
) -> None:
    rows: list[dict[str, Any]] = [
        {
            "shop_id": shop_id,
            "segment_id": segment_id,
            "customer_id": customer_id,
            "kind": kind,
            "reason": reason,
            "occurred_at": now,
        }
        for segment_id, customer_id, reason in items
    ]
    session.execute(insert(SegmentEvent), rows)
    notify(
        session,
        shop_id,
        [MembershipChange(seg, customer, kind, reason) for seg, customer, reason in items],
        now,
    )


def _chunks(values: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


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
