"""Stored RFM scores: the daily recompute of the cut-offs and every score (with hysteresis),
and the plain scores each sweep gives customers ranked since — one UPDATE per shop each."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, cast, func, literal, or_, select, update
from sqlalchemy.orm import Session

from plugin.db import Unindexed
from plugin.profiles.models import Customer
from plugin.segments.dates import day_start, local_today
from plugin.segments.dirty import mark_dirty_where
from plugin.segments.rfm import (
    DIMENSIONS,
    STORED,
    VALUES,
    refresh_rfm_cutoffs,
    rfm_population,
    set_vip_threshold,
)
from plugin.segments.rfm_models import RfmCutoffs
from plugin.shops.models import Shop

# How far past a cut-off a value must be before a stored score moves across it (docs:
# segments-fields.md, "Hysteresis"). R: a week of last-order time; F: half an order, so an
# integer count moves when strictly past and stays when exactly at; M: 5% of the cut-off.
R_MARGIN = timedelta(days=7)
M_MARGIN_DIVISOR = 20  # 1/20 = 5%


def shifted(dim: str, cut: Any, side: int) -> Any:
    """The cut-off moved by the dimension's margin: up (`side` 1), down (-1) or not (0),
    as the bound `b` with `value > b` ⇔ `value > cut ± margin` (F and M are integers)."""
    if cut is None or side == 0:
        return cut
    if dim == "r":
        return cut + side * R_MARGIN
    if dim == "f":  # v > c + 0.5 ⇔ v > c;  v > c - 0.5 ⇔ v > c - 1
        return cut if side > 0 else cut - 1
    # v > c ± |c|/20 ⇔ v > floor(c ± |c|/20) = c + floor(±|c|/20)
    return cut + (side * abs(cut)) // M_MARGIN_DIVISOR


def score_against(dim: str, row: RfmCutoffs, side: int = 0) -> ColumnElement[int]:
    """1 + #{k : value > c_k (± margin)}, the cut-offs bound as values (read once, not per
    row); null when the shop has no cut-offs (a null bound makes the sum null)."""
    value = VALUES[dim]
    total: ColumnElement[int] | None = None
    for k in range(1, 5):
        bound = literal(shifted(dim, getattr(row, f"{dim}{k}"), side), type_=value.type)
        above = cast(value > bound, Integer)
        total = above if total is None else total + above
    assert total is not None
    return 1 + total


def held_score(dim: str, row: RfmCutoffs) -> ColumnElement[int]:
    """min(max(prev, up), down): the stored score unless the value passed a cut-off by the
    margin (up ≤ plain ≤ down); the plain score for a customer without one."""
    prev = STORED[dim]
    up, down = score_against(dim, row, 1), score_against(dim, row, -1)
    return case(
        (prev.is_(None), score_against(dim, row)),
        (prev < up, up),
        (prev > down, down),
        else_=prev,
    )


def _ranked(orders_count: Any = Customer.orders_count) -> ColumnElement[bool]:
    return and_(orders_count > 0, Customer.last_order_at.is_not(None))


def store_scores(session: Session, shop_id: int, row: RfmCutoffs, now: datetime) -> int:
    """The daily recompute, after the cut-offs: every ranked customer's scores held or moved,
    and those no longer ranked cleared; only rows whose scores change are written."""
    new = {dim: case((_ranked(), held_score(dim, row)), else_=None) for dim in DIMENSIONS}
    changed = or_(*(new[dim].is_distinct_from(STORED[dim]) for dim in DIMENSIONS))
    mark_dirty_where(session, shop_id, changed)  # their RFM fields move without an event
    stmt = (
        update(Customer)
        .where(Customer.shop_id == shop_id, changed)
        .values(
            {STORED[dim]: new[dim] for dim in DIMENSIONS}
            | {Customer.rfm_scored_at: case((_ranked(), now), else_=None)}
        )
        .execution_options(synchronize_session=False)
    )
    return session.execute(stmt).rowcount  # type: ignore[attr-defined,no-any-return]


def score_unscored(session: Session, shop_id: int, row: RfmCutoffs, now: datetime) -> int:
    """Plain scores against the stored cut-offs for ranked customers without any (a first
    order since the recompute), so they do not wait a day; the scored are left alone."""
    if not row.customers:
        return 0  # no cut-offs: the scores would be null anyway
    # Found through the scores index by (shop, no score): SQLite, without statistics,
    # read every buyer's row through the order-metrics index instead (2 s each at 1M).
    unscored = (Customer.rfm_r.is_(None), _ranked(Unindexed(Customer.orders_count)))
    # No event marks them: their RFM fields change here, so an incremental sweep must look.
    mark_dirty_where(session, shop_id, *unscored)
    stmt = (
        update(Customer)
        .where(Customer.shop_id == shop_id, *unscored)
        .values(
            {STORED[dim]: score_against(dim, row) for dim in DIMENSIONS}
            | {Customer.rfm_scored_at: now}
        )
        .execution_options(synchronize_session=False)
    )
    return session.execute(stmt).rowcount  # type: ignore[attr-defined,no-any-return]


def recompute_due(session: Session, shop_id: int, row: RfmCutoffs | None, now: datetime) -> bool:
    """Once per shop-local day (the first sweep after local midnight, which `sweep_due`
    already schedules), or when the ranked customers have more than doubled since (a
    history import after the install's first sweep: cut-offs of a few, or none, would
    otherwise rank everyone until the next day)."""
    if row is None:
        return True
    shop = session.get(Shop, shop_id)
    zone = (shop.timezone if shop else None) or "UTC"
    if row.computed_at < day_start(local_today(now, zone), zone):
        return True
    ranked = select(func.count()).select_from(Customer).where(*rfm_population(shop_id))
    return (session.scalar(ranked) or 0) > 2 * row.customers


def recompute_rfm(session: Session, shop_id: int, now: datetime) -> RfmCutoffs:
    """The daily recompute: the cut-offs (and VIP threshold) from the customers as stored
    now, then every stored score against them, with hysteresis."""
    row = refresh_rfm_cutoffs(session, shop_id, now)
    store_scores(session, shop_id, row, now)
    return row


def refresh_sweep_inputs(session: Session, shop_id: int, now: datetime) -> RfmCutoffs:
    """What a sweep at `now` needs first: time-window metrics and the VIP threshold (every
    sweep); the cut-offs and every stored score when the daily recompute is due, else
    plain scores for the unscored only."""
    from plugin.profiles.metrics import refresh_time_metrics

    refresh_time_metrics(session, shop_id, now)
    row = session.get(RfmCutoffs, shop_id)
    before = row.vip_threshold_minor if row is not None else None
    if row is None or recompute_due(session, shop_id, row, now):
        row = recompute_rfm(session, shop_id, now)
    else:
        set_vip_threshold(session, row, shop_id)
        session.flush()
        score_unscored(session, shop_id, row, now)
    mark_vip_band(session, shop_id, before, row.vip_threshold_minor)
    return row


def mark_vip_band(session: Session, shop_id: int, before: int | None, after: int | None) -> None:
    """Mark the customers a moved VIP threshold can move in or out: their stored yearly
    spend lies between the old and the new threshold (every spend above the one that
    exists when the other is missing). The rules read the threshold in SQL, so no event
    tells the incremental sweep about them."""
    if before == after:
        return
    spent = Customer.spent_365d_minor
    if before is None or after is None:
        band = spent >= (after if before is None else before)
    else:
        band = spent.between(min(before, after), max(before, after))
    mark_dirty_where(session, shop_id, Customer.orders_365d > 0, band)
