"""The periodic refresh of what the platform changes without any webhook: each customer's
`statistics` (Shopify's predictedSpendTier and rfmGroup), B2B companies and store credit.

Per shop, once the history import is done and `SHOPSEG_STATISTICS_HOURS` (default a
week) have passed since the last refresh, a run exports only the customers' ids and
statistics in one bulk query, and merges only those two columns, set-based, where they
changed; then segments are evaluated (the segment language reads them) and tags synced.
It is a run like the import, driven by the same outbox row, resumable the same way.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from plugin.backfill import runs
from plugin.backfill.models import DONE, FAILED
from plugin.backfill.reconcile import queue_where_due
from plugin.backfill.runs import enqueue_import
from plugin.runtime import Runtime

# Shopify's statistics, and what else changes without a webhook: companies, store credit
RESOURCES = ("statistics", "companies", "store_credit")


def refresh_statistics(runtime: Runtime, now: datetime) -> None:
    """Queue a statistics refresh for every installed shop that is due (the scheduler's job)."""
    hours = runtime.settings.statistics_hours
    queue_where_due(runtime, now, hours, queue_statistics, "statistics")


def queue_statistics(session: Session, shop_id: int, now: datetime, every: timedelta) -> int | None:
    """A refresh run and its outbox row when the shop is due; the run id, else None. The
    import itself counts as the first refresh (it read the statistics)."""
    last_import = runs.latest_run(session, shop_id)
    if last_import is None or last_import.state != DONE:
        return None
    last = runs.latest_run(session, shop_id, statistics=True)
    latest = last_import if last is None else max(last_import, last, key=lambda r: r.created_at)
    if latest.created_at > now - every:
        return None
    if last is not None and last.state not in (DONE, FAILED):
        last.state, last.error, last.finished_at = FAILED, "superseded by a later run", now
    run = runs.create_run(session, shop_id, runs.STATISTICS, now, resources=RESOURCES)
    enqueue_import(session, shop_id, run.id, now, statistics=True)
    return run.id
