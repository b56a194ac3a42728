"""The nightly reconcile: webhooks the shop gave up on, repaired from what the API says.

Per shop, once the history import is done and `SHOPSEG_RECONCILE_HOURS` have passed since
the last reconcile, a run reads the customers and orders updated since the last finished
run (import or reconcile) page by page and merges them exactly as the import does; the
outbox row that drives it paces the reads by the shop's API budget. Versions decide, so
what the webhooks already brought is checked and left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.backfill import runs
from plugin.backfill.models import DONE, FAILED, BackfillRun
from plugin.backfill.runs import enqueue_import
from plugin.jobs import installed_shops
from plugin.runtime import Runtime

# Read a little before the last run started: the shop's clock and ours may differ.
OVERLAP = timedelta(minutes=15)
RESOURCES = ("customers", "orders")

log = logging.getLogger(__name__)


def reconcile_shops(runtime: Runtime, now: datetime) -> None:
    """Queue a reconcile for every installed shop that is due (the scheduler's job)."""
    queue_where_due(runtime, now, runtime.settings.reconcile_hours, queue_reconcile, "reconcile")


def queue_where_due(
    runtime: Runtime,
    now: datetime,
    hours: int,
    queue: Callable[[Session, int, datetime, timedelta], int | None],
    what: str,
) -> None:
    """For each installed Shopify shop (the one platform with a history source), `queue`
    a run every `hours` (0: never), one transaction per shop."""
    if hours <= 0:
        return
    for shop_id, platform, domain in installed_shops(runtime):
        if platform != "shopify":
            continue
        with runtime.sessions.begin() as session:
            run_id = queue(session, shop_id, now, timedelta(hours=hours))
        if run_id is not None:
            log.info("backfill.%s_queued shop=%s run=%s", what, domain, run_id)


def queue_reconcile(session: Session, shop_id: int, now: datetime, every: timedelta) -> int | None:
    """A reconcile run and its outbox row when the shop is due; the run id, else None."""
    last_import = runs.latest_run(session, shop_id)
    if last_import is None or last_import.state != DONE:
        return None  # the import reads everything anyway
    last = runs.latest_run(session, shop_id, reconcile=True)
    if last is not None and last.created_at > now - every:
        return None
    if last is not None and last.state not in (DONE, FAILED):
        # Its outbox row gave up: a new run reads from the last finished one on.
        last.state, last.error, last.finished_at = FAILED, "superseded by a later run", now
    since = _last_finished_start(session, shop_id) - OVERLAP
    run = runs.create_run(
        session,
        shop_id,
        runs.RECONCILE,
        now,
        resources=RESOURCES,
        paged=True,
        counts={"since": since.isoformat()},
    )
    enqueue_import(session, shop_id, run.id, now, since=since)
    return run.id


def _last_finished_start(session: Session, shop_id: int) -> datetime:
    started = session.scalar(
        select(func.max(BackfillRun.started_at)).where(
            BackfillRun.shop_id == shop_id,
            BackfillRun.state == DONE,
            BackfillRun.why != runs.STATISTICS,  # it read no customer or order updates
        )
    )
    assert started is not None  # a finished import has started
    return started
