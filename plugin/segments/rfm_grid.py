"""The RFM grid for the admin: customers and revenue per (R, FM) cell, and how customers
moved between RFM groups over a window.

No table keeps RFM groups over time, so movement is read from the stays of the RFM
built-in segments (`rfm_<group>`): a customer's group at an instant is the RFM segment
they were in then. It is exact while those segments are on and swept; a group switched
off has no stays to read. A stay opened by the segment's first evaluation or a rule edit
is the app starting to track, not the customer moving (as in the KPIs' conversions): only
customers with another kind of entry in the window are compared, which also keeps the
query to the few who moved instead of every ranked customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from plugin.profiles.models import Customer
from plugin.segments.models import INITIAL, RULE_EDIT, Segment, SegmentMembership
from plugin.segments.rfm import PROSPECTS, RFM_TABLE

RFM_KEY_PREFIX = "rfm_"
MOVEMENT_WINDOW = timedelta(days=30)  # what the admin shows


@dataclass(frozen=True)
class Cell:
    r: int
    fm: int
    group: str
    customers: int
    revenue_minor: int


@dataclass(frozen=True)
class Grid:
    cells: list[Cell]  # R 5..1 (rows), FM 1..5 (columns): 25 cells, empty ones included
    prospects: int  # customers without orders (no R, F or M)
    unranked: int  # customers with orders no sweep has scored yet

    def rows(self) -> list[list[Cell]]:
        return [self.cells[i : i + 5] for i in range(0, len(self.cells), 5)]


@dataclass(frozen=True)
class Move:
    before: str | None  # a group key; None: in no RFM group at the window's start
    after: str
    customers: int


def grid_statement(shop_id: int) -> Select[Any]:
    """(R, F, M, customers, net spend) of customers with orders: a plain GROUP BY of the
    stored scores, which their covering index answers (at most 125 rows, and one null row:
    those not scored yet)."""
    stored = (Customer.rfm_r, Customer.rfm_f, Customer.rfm_m)
    return (
        select(*stored, func.count(), func.coalesce(func.sum(Customer.total_spent_minor), 0))
        .where(Customer.shop_id == shop_id, Customer.orders_count > 0)
        .group_by(*stored)
    )


def rfm_grid(session: Session, shop_id: int) -> Grid:
    """Counts and lifetime net spend per (R, FM) cell, the stored (R, F, M) groups folded
    into FM here."""
    rows = session.execute(grid_statement(shop_id)).all()
    found: dict[tuple[int, int], tuple[int, int]] = {}
    unranked = 0
    for r_, f_, m_, n, revenue in rows:
        if r_ is None or f_ is None or m_ is None:
            unranked += int(n)
            continue
        key = (r_, (f_ + m_ + 1) // 2)
        count, total = found.get(key, (0, 0))
        found[key] = (count + int(n), total + int(revenue))
    cells = [
        Cell(r_, fm_, RFM_TABLE[r_][fm_ - 1], *found.get((r_, fm_), (0, 0)))
        for r_ in range(5, 0, -1)
        for fm_ in range(1, 6)
    ]
    prospects = session.scalar(
        select(func.count()).where(Customer.shop_id == shop_id, Customer.orders_count == 0)
    )
    return Grid(cells, int(prospects or 0), unranked)


def rfm_movement(session: Session, shop_id: int, since: datetime) -> list[Move]:
    """Customers whose RFM group now differs from their group at `since`, counted per
    (before, after); one query over the RFM segments' stays."""
    groups = dict(
        session.execute(
            select(Segment.id, Segment.builtin_key).where(
                Segment.shop_id == shop_id, Segment.builtin_key.like(f"{RFM_KEY_PREFIX}%")
            )
        )
        .tuples()
        .all()
    )
    if not groups:
        return []
    stays = SegmentMembership
    movers = select(stays.customer_id).where(
        stays.shop_id == shop_id,
        stays.segment_id.in_(list(groups)),
        stays.entered_at > since,
        stays.entered_reason.not_in((INITIAL, RULE_EDIT)),
    )
    was_in = and_(
        stays.entered_at <= since, or_(stays.exited_at.is_(None), stays.exited_at > since)
    )
    # One pass over the stays open now or at `since`: each customer's group then and now
    # (RFM groups are disjoint, so at most one stay of each is open at an instant).
    per_customer = (
        select(
            func.max(case((stays.exited_at.is_(None), stays.segment_id))).label("after"),
            func.max(case((was_in, stays.segment_id))).label("before"),
        )
        .where(
            stays.shop_id == shop_id,
            stays.segment_id.in_(list(groups)),
            or_(stays.exited_at.is_(None), stays.exited_at > since),
            stays.customer_id.in_(movers),
        )
        .group_by(stays.customer_id)
        .subquery()
    )
    before, after = per_customer.c.before, per_customer.c.after
    stmt = (
        select(before, after, func.count())
        .where(after.is_not(None), or_(before.is_(None), before != after))
        .group_by(before, after)
    )
    moves = [
        Move(_group(groups.get(before)), _group(groups[after]) or PROSPECTS, int(n))
        for before, after, n in session.execute(stmt)
    ]
    return sorted(moves, key=lambda m: -m.customers)


def _group(builtin_key: str | None) -> str | None:
    return builtin_key.removeprefix(RFM_KEY_PREFIX) if builtin_key else None


def group_slugs(session: Session, shop_id: int) -> dict[str, str]:
    """RFM group → slug of its built-in segment (where a cell's members are listed)."""
    rows = session.execute(
        select(Segment.builtin_key, Segment.slug).where(
            Segment.shop_id == shop_id, Segment.builtin_key.like(f"{RFM_KEY_PREFIX}%")
        )
    )
    return {_group(key) or "": slug for key, slug in rows}
