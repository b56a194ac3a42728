"""The scheduled sweep of one shop: refresh time-based metrics, the VIP threshold and the
stored RFM scores (cut-offs once a day), then evaluate every segment with reason `sweep`.

A shop is due hourly (per-shop setting `segment_sweep_minutes`), just after its local
midnight (whole-day conditions such as `last_order_date < -90d` move then), and whenever
a segment was created, edited or re-enabled since the last sweep. `evaluate_shop_now`
sweeps a shop at once, right after an install or a history import.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.db import utcnow
from plugin.runtime import Runtime
from plugin.segments.builtins import category_fans_due, refresh_category_fans
from plugin.segments.evaluator import SweepResult, evaluate_shop
from plugin.segments.models import SWEEP, Segment
from plugin.segments.rfm_models import RfmCutoffs
from plugin.segments.rfm_scores import refresh_sweep_inputs
from plugin.shops.models import Shop, ShopSetting

SWEEP_MINUTES = "segment_sweep_minutes"
# What a sweep compares to tell whether thresholds moved (not when or over how many).
CUTOFF_COLUMNS = [
    c for c in RfmCutoffs.__table__.c if c.key not in ("shop_id", "computed_at", "customers")
]
DEFAULT_SWEEP_MINUTES = 60

log = logging.getLogger(__name__)


def sweep_minutes(session: Session, shop_id: int) -> float:
    row = session.get(ShopSetting, (shop_id, SWEEP_MINUTES))
    value = row.value.get("value") if row is not None and isinstance(row.value, dict) else None
    return float(value or DEFAULT_SWEEP_MINUTES)


def sweep_due(session: Session, shop_id: int, now: datetime) -> bool:
    """True when a segment is unsettled, never evaluated, evaluated over the interval ago,
    or last evaluated before the shop's current local day began."""
    enabled = (Segment.shop_id == shop_id, Segment.enabled.is_(True))
    row = session.execute(
        select(
            func.count(),
            func.count(Segment.pending_reason),
            func.count(Segment.last_evaluated_at),
            func.min(Segment.last_evaluated_at),
        ).where(*enabled)
    ).one()
    total, pending, evaluated, oldest = row
    if not total:
        return False
    if pending or evaluated < total or oldest is None:
        return True
    if oldest <= now - timedelta(minutes=sweep_minutes(session, shop_id)):
        return True
    shop = session.get(Shop, shop_id)
    zone = ZoneInfo((shop.timezone if shop else None) or "UTC")
    return bool(oldest.astimezone(zone).date() < now.astimezone(zone).date())


def _cutoff_values(row: RfmCutoffs | None) -> tuple[Any, ...] | None:
    if row is None:
        return None
    return tuple(getattr(row, c.key) for c in CUTOFF_COLUMNS)


def refresh_inputs(session: Session, shop_id: int, now: datetime) -> bool:
    """Time-window metrics, the VIP threshold and the stored RFM scores (cut-offs daily) as
    of `now`, before the rules read them; True when a threshold (an RFM cut-off or the VIP
    threshold) moved."""
    before = _cutoff_values(session.get(RfmCutoffs, shop_id))
    after = _cutoff_values(refresh_sweep_inputs(session, shop_id, now))
    return before != after


def sweep_shop(runtime: Runtime, shop_id: int, now: datetime, *, full: bool = False) -> SweepResult:
    """Refresh in its own transaction (it updates many customer rows, so it must not hold
    the shop's segment lock), keep the Category fans monthly, then evaluate in batches:
    only the customers that can have changed (`plugin.segments.evaluator_incremental`;
    the refresh marks those whose stored RFM scores it moved) unless `full` or the
    Category fans were refreshed."""
    with runtime.sessions.begin() as session:
        moved = refresh_inputs(session, shop_id, now)
    with runtime.sessions.begin() as session:
        fans = category_fans_due(session, shop_id, now)
        if fans:
            refresh_category_fans(session, shop_id, now)
    return evaluate_shop(
        runtime,
        shop_id,
        now,
        SWEEP,
        thresholds_moved=moved,
        incremental=not (full or fans),
    )


def evaluate_shop_now(
    runtime: Runtime, shop_id: int, *, now: datetime | None = None, first_time_only: bool = False
) -> SweepResult | None:
    """Sweep one shop right away, after its unit of work committed (an install, a history
    import) rather than at the next scheduled sweep. With `first_time_only`, only a shop
    with a segment never evaluated is swept: a reinstall keeps its schedule instead of
    sweeping a large shop inside an install request. A failure is logged, never raised:
    the scheduled sweep settles the shop later. None when nothing was evaluated."""
    try:
        if first_time_only:
            with runtime.sessions() as session:
                if not _never_evaluated(session, shop_id):
                    return None
        return sweep_shop(runtime, shop_id, now or utcnow())
    except Exception:
        log.exception("segments.evaluate_now_failed shop_id=%s", shop_id)
        return None


def _never_evaluated(session: Session, shop_id: int) -> bool:
    stmt = select(Segment.id).where(
        Segment.shop_id == shop_id,
        Segment.enabled.is_(True),
        Segment.last_evaluated_at.is_(None),
    )
    return session.scalar(stmt.limit(1)) is not None


def sweep_due_shops(runtime: Runtime, shop_ids: list[int], now: datetime) -> int:
    """Sweep each due shop; one shop's failure does not stop the others."""
    swept = 0
    for shop_id in shop_ids:
        with runtime.sessions() as session:
            if not sweep_due(session, shop_id, now):
                continue
        try:
            sweep_shop(runtime, shop_id, now)
            swept += 1
        except Exception:
            log.exception("segments.sweep_failed shop_id=%s", shop_id)
    return swept
