"""Transparent RFM: per-shop quintile cut-offs (daily), the fields over the stored scores
and VIP over the shop's cut-off row (identical in sweep, real time and preview)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    false,
    func,
    select,
    true,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from plugin.profiles.models import Customer
from plugin.segments.rfm_models import RfmCutoffs

DIMENSIONS = ("r", "f", "m")
# R: the last-order instant (larger = more recent); F: counted orders; M: net spend.
VALUES: dict[str, InstrumentedAttribute[Any]] = {
    "r": Customer.last_order_at,
    "f": Customer.orders_count,
    "m": Customer.total_spent_minor,
}
STORED: dict[str, InstrumentedAttribute[Any]] = {
    "r": Customer.rfm_r,
    "f": Customer.rfm_f,
    "m": Customer.rfm_m,
}
VIP_PERCENTILE = 90

# R score (rows, 5 first) by FM score (columns 1..5) → group; FM = (F + M + 1) // 2.
RFM_TABLE: dict[int, tuple[str, str, str, str, str]] = {
    5: ("new", "new", "active", "champions", "champions"),
    4: ("promising", "promising", "active", "loyal", "loyal"),
    3: ("promising", "needs_attention", "needs_attention", "loyal", "loyal"),
    2: ("almost_lost", "almost_lost", "at_risk", "at_risk", "previously_loyal"),
    1: ("dormant", "dormant", "almost_lost", "at_risk", "previously_loyal"),
}
PROSPECTS = "prospects"
GROUPS = (
    "champions",
    "loyal",
    "active",
    "needs_attention",
    "promising",
    "new",
    "at_risk",
    "previously_loyal",
    "almost_lost",
    "dormant",
    PROSPECTS,
)


def quintile_positions(n: int) -> list[int]:
    """1-based ranks of the cut-offs c_k = v(⌈k·n/5⌉), k = 1..4."""
    return [(k * n + 4) // 5 for k in range(1, 5)]


def rfm_population(shop_id: int) -> list[ColumnElement[bool]]:
    """Customers RFM ranks: those with counted orders at a known time."""
    return [
        Customer.shop_id == shop_id,
        Customer.orders_count > 0,
        Customer.last_order_at.is_not(None),
    ]


def _values_at(
    session: Session, value: Any, criteria: list[ColumnElement[bool]], ranks: list[int]
) -> list[Any]:
    """The values at these 1-based ranks of `value` sorted ascending (one sort, set-based)."""
    ranked = (
        select(value.label("v"), func.row_number().over(order_by=value).label("rn"))
        .where(*criteria)
        .subquery()
    )
    picked = select(ranked.c.rn, ranked.c.v).where(ranked.c.rn.in_(ranks))
    rows = {rn: v for rn, v in session.execute(picked)}
    return [rows.get(rank) for rank in ranks]


def refresh_rfm_cutoffs(session: Session, shop_id: int, now: datetime) -> RfmCutoffs:
    """Rewrite the shop's cut-offs and VIP threshold from its customers as stored now.

    Run `plugin.profiles.metrics.refresh_time_metrics` first so spent_365d is current at
    `now`; `plugin.segments.rfm_scores.refresh_sweep_inputs` does both, once a day, and
    stores the scores."""
    population = rfm_population(shop_id)
    n = session.scalar(select(func.count()).select_from(Customer).where(*population)) or 0
    row = session.get(RfmCutoffs, shop_id) or RfmCutoffs(shop_id=shop_id)
    row.computed_at, row.customers = now, n
    ranks = quintile_positions(n)
    for dim in DIMENSIONS:
        cuts = _values_at(session, VALUES[dim], population, ranks) if n else [None] * 4
        for k, cut in enumerate(cuts, start=1):
            setattr(row, f"{dim}{k}", cut)
    set_vip_threshold(session, row, shop_id)
    session.add(row)
    session.flush()
    return row


def set_vip_threshold(session: Session, row: RfmCutoffs, shop_id: int) -> None:
    """Nearest-rank 90th percentile of spent_365d over customers with a windowed order."""
    criteria = [Customer.shop_id == shop_id, Customer.orders_365d > 0]
    n = session.scalar(select(func.count()).select_from(Customer).where(*criteria)) or 0
    rank = (VIP_PERCENTILE * n + 99) // 100
    row.vip_population = n
    row.vip_threshold_minor = (
        _values_at(session, Customer.spent_365d_minor, criteria, [rank])[0] if n else None
    )


def _cutoff(shop_id: int, name: str) -> ColumnElement[Any]:
    column = getattr(RfmCutoffs, name)
    return select(column).where(RfmCutoffs.shop_id == shop_id).scalar_subquery()


def rfm_score(dim: str) -> ColumnElement[int]:
    """The field `rfm_<dim>`: the stored score (`plugin.segments.rfm_scores` writes it), so
    a customer near a cut-off keeps what the daily recompute gave them; null without orders
    (a customer whose orders were all removed is no longer ranked, at once)."""
    return case((Customer.orders_count > 0, STORED[dim]), else_=None)


def rfm_group() -> ColumnElement[str]:
    """prospects without orders; else the RFM_TABLE cell of the stored (R, FM); null for a
    customer with orders not scored yet (scored at the next sweep)."""
    fm = (rfm_score("f") + rfm_score("m") + 1) // 2
    code = rfm_score("r") * 10 + fm
    cells = {
        r * 10 + fm_: group for r, row in RFM_TABLE.items() for fm_, group in enumerate(row, 1)
    }
    return case((Customer.orders_count == 0, PROSPECTS), else_=case(cells, value=code))


def vip(shop_id: int, orders_365d: Any, spent_365d: Any) -> ColumnElement[bool]:
    """spent_365d at or above the shop's stored threshold; false before the first sweep."""
    threshold = _cutoff(shop_id, "vip_threshold_minor")
    qualifies = and_(orders_365d > 0, spent_365d >= threshold)
    return case((qualifies, true()), else_=false())
