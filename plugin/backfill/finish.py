"""The end of an import: owners linked, metrics recomputed set-based, segments evaluated,
RFM cut-offs computed and tags synced at once — nothing waits for the next sweep.

Every step is idempotent, so a run killed while finishing simply finishes again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from plugin.backfill.differences import touched_customer_ids
from plugin.backfill.models import (
    DONE,
    BackfillRun,
    StagedCustomer,
    StagedOrder,
    StagedOrderLine,
    StagedProduct,
)
from plugin.backfill.planner import analyze
from plugin.backfill.runs import RECONCILE, STATISTICS
from plugin.backfill.shop_metrics import recompute_shop_metrics
from plugin.backfill.staging import clear_staged
from plugin.profiles.metrics import recompute_metrics
from plugin.profiles.models import Checkout, Customer, Order
from plugin.profiles.shop_settings import link_guests_by_email
from plugin.runtime import Runtime

METRICS_BATCH = 2000  # customers per metrics transaction
MERGED_TABLES = (
    *("customers", "customer_addresses", "customer_tags", "products", "orders", "order_lines"),
)
SWEPT_TABLES = ("segment_memberships", "segment_state", "segment_events")

log = logging.getLogger(__name__)


def finish_run(runtime: Runtime, run_id: int, now: datetime) -> None:
    with runtime.sessions.begin() as session:
        run = session.get(BackfillRun, run_id)
        assert run is not None
        shop_id, reconcile = run.shop_id, run.why == RECONCILE
        statistics = run.why == STATISTICS  # no orders read: metrics are as they were
        if not statistics:
            link_owners(session, shop_id)
        touched = touched_customer_ids(session, shop_id, run_id) if reconcile else None
    with runtime.sessions.begin() as session:
        analyze(session, run_id, MERGED_TABLES)
    if touched is not None:  # a reconcile redoes only the customers it read or read an order of
        recompute_batches(runtime, shop_id, touched, now)
    elif not statistics:
        recompute_all_metrics(runtime, shop_id, now)
    with runtime.sessions.begin() as session:
        analyze(session, run_id, ("customers", "purchases"))
    _evaluate_and_sync(runtime, shop_id, now, run_id)
    with runtime.sessions.begin() as session:
        run = session.get(BackfillRun, run_id)
        assert run is not None
        staged = staged_counts(session, run_id)
        figures: dict[str, Any] = dict(staged)
        if reconcile:
            figures = {"checked": {k: staged[k] for k in ("customers", "orders")}}
        elif statistics:
            figures = {"customers": staged["customers"]}
        run.counts = {**(run.counts or {}), **figures}
        clear_staged(session, run_id)
        run.state, run.finished_at, run.error = DONE, now, None
    log.info("backfill.done run=%s shop_id=%s", run_id, shop_id)


def link_owners(session: Session, shop_id: int) -> None:
    """Orders and checkouts naming a customer who now exists get linked (webhooks do it
    when the customer arrives); guests by verified email when the shop links them."""
    for model in (Order, Checkout):
        match = (
            select(Customer.id)
            .where(Customer.shop_id == shop_id, Customer.platform_id == model.customer_platform_id)
            .scalar_subquery()
        )
        criteria = [
            model.shop_id == shop_id,
            model.customer_id.is_(None),
            # not `IS NOT NULL`: SQLite, without statistics, then scans every order of the
            # shop by the customer_platform_id index (15 s at 1M orders) instead of
            # finding the few unlinked ones by (shop_id, customer_id)
            func.length(model.customer_platform_id) > 0,
        ]
        if model is Order:
            criteria.append(Order.anonymized.is_(False))
        session.execute(
            update(model).where(*criteria, match.is_not(None)).values(customer_id=match)
        )
    if link_guests_by_email(session, shop_id):
        _link_guests_by_email(session, shop_id)


def _link_guests_by_email(session: Session, shop_id: int) -> None:
    for model in (Order, Checkout):
        same = and_(
            Customer.shop_id == shop_id,
            Customer.email_cf == model.email_cf,
            Customer.verified_email.is_(True),
        )
        only = select(func.count()).where(same).scalar_subquery() == 1
        one_id = select(func.min(Customer.id)).where(same).scalar_subquery()
        one_pid = select(func.min(Customer.platform_id)).where(same).scalar_subquery()
        criteria = [
            model.shop_id == shop_id,
            model.customer_id.is_(None),
            model.customer_platform_id.is_(None),
            model.email_cf.is_not(None),
        ]
        if model is Order:
            criteria.append(Order.anonymized.is_(False))
        session.execute(
            update(model)
            .where(*criteria, only)
            .values(customer_id=one_id, customer_platform_id=one_pid)
        )


def recompute_all_metrics(runtime: Runtime, shop_id: int, now: datetime) -> int:
    """Every customer's metrics and purchases, set-based, a range of customers at a time."""
    return recompute_shop_metrics(runtime, shop_id, now)


def recompute_batches(runtime: Runtime, shop_id: int, ids: list[int], now: datetime) -> None:
    for start in range(0, len(ids), METRICS_BATCH):
        with runtime.sessions.begin() as session:
            recompute_metrics(session, shop_id, ids[start : start + METRICS_BATCH], now)


def _evaluate_and_sync(runtime: Runtime, shop_id: int, now: datetime, run_id: int) -> None:
    from plugin.segments.evaluator_sweep import sweep_shop
    from plugin.segments.health import compute_today
    from plugin.tagsync.imports import repair_swept_shops

    # RFM cut-offs, then every segment for every customer: the import wrote profiles
    # without a real-time pass, so no incremental sweep could know whom it changed
    sweep_shop(runtime, shop_id, now, full=True)
    with runtime.sessions.begin() as session:
        analyze(session, run_id, SWEPT_TABLES)  # the KPIs join the new memberships
        compute_today(session, shop_id, now)  # the dashboard's figures, before midnight
    repair_swept_shops(runtime, [shop_id], now)  # the tag import if due, then drift


def staged_counts(session: Session, run_id: int) -> dict[str, int]:
    counts = {}
    for name, table in (
        ("customers", StagedCustomer),
        ("products", StagedProduct),
        ("orders", StagedOrder),
        ("order_lines", StagedOrderLine),
    ):
        counts[name] = int(
            session.scalar(select(func.count()).select_from(table).where(table.run_id == run_id))
            or 0
        )
    return counts
