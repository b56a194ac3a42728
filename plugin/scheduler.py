"""Periodic jobs hosted by the worker (APScheduler): inbox housekeeping, profile upkeep.

A job is a plain function `(runtime, now) -> None` that owns its unit of work. On
PostgreSQL each run takes a session advisory lock named after the job, so with several
workers exactly one runs a given job at a time; the others skip that turn.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Connection, text

from plugin.backfill.reconcile import reconcile_shops
from plugin.backfill.statistics import refresh_statistics
from plugin.db import utcnow
from plugin.inbox.services import (
    purge_never_installed,
    reduce_processed_payloads,
    release_installed_shops,
)
from plugin.jobs import (
    lookup_unknown_products,
    refresh_abandoned_checkouts,
    segment_daily_kpis,
    sweep_segments,
)
from plugin.outbox.jobs import deliver_outbox, refresh_tokens
from plugin.runtime import Runtime
from plugin.shops.oauth_states import purge_oauth_states
from plugin.tagsync.backlog import fold_tag_backlogs
from plugin.triggers.scan import scan_due_triggers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Runtime, datetime], None]
    every: timedelta
    # False: every worker runs it at once (it locks rows itself), no advisory lock.
    exclusive: bool = True


def inbox_housekeeping(runtime: Runtime, now: datetime) -> None:
    """Release deliveries that raced an install, purge never-installed shops' deliveries
    and reduce old processed payloads to metadata."""
    settings = runtime.settings
    with runtime.sessions.begin() as session:
        released = release_installed_shops(session)
        purged = purge_never_installed(session, now, settings.pending_install_retention_days)
        reduced = reduce_processed_payloads(session, now, settings.inbox_payload_retention_days)
    log.info(
        "scheduler.inbox_housekeeping released=%d purged=%d reduced=%d", released, purged, reduced
    )


def purge_oauth_state_rows(runtime: Runtime, now: datetime) -> None:
    """Expired and used OAuth states, even when no install comes to sweep them."""
    with runtime.sessions.begin() as session:
        purge_oauth_states(session, now)


def default_jobs() -> list[Job]:
    """Every periodic job of the app; packages add theirs here."""
    return [
        Job("inbox.housekeeping", inbox_housekeeping, timedelta(minutes=5)),
        Job("shops.oauth_states", purge_oauth_state_rows, timedelta(minutes=10)),
        Job("profiles.abandonment", refresh_abandoned_checkouts, timedelta(minutes=10)),
        Job("products.lookup", lookup_unknown_products, timedelta(minutes=15)),
        # Checks every shop's due time (hourly, after local midnight, after rule edits).
        Job("segments.sweep", sweep_segments, timedelta(minutes=1)),
        Job("segments.daily", segment_daily_kpis, timedelta(minutes=30)),
        Job("outbox.delivery", deliver_outbox, timedelta(seconds=2), exclusive=False),
        # A burst of one-customer tag rows past the shop's bulk threshold → one bulk row.
        Job("tagsync.fold_backlog", fold_tag_backlogs, timedelta(seconds=30)),
        Job("shops.token_refresh", refresh_tokens, timedelta(minutes=5)),
        Job("triggers.scan", scan_due_triggers, timedelta(minutes=1)),
        # Checks which shops are due (SHOPSEG_RECONCILE_HOURS); the outbox reads the shop.
        Job("backfill.reconcile", reconcile_shops, timedelta(minutes=15)),
        # Checks which shops are due (SHOPSEG_STATISTICS_HOURS, default weekly).
        Job("backfill.statistics", refresh_statistics, timedelta(hours=1)),
    ]


def run_job(runtime: Runtime, job: Job, now: datetime | None = None) -> bool:
    """Run one job unless another process runs it right now; True when it ran."""
    with runtime.engine.connect() as conn:
        locking = job.exclusive and conn.dialect.name == "postgresql"
        if locking:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            if not _try_lock(conn, job.name):
                log.info("scheduler.job_skipped name=%s", job.name)
                return False
        try:
            job.run(runtime, now or utcnow())
        except Exception:  # one failing run must not stop the schedule
            log.exception("scheduler.job_failed name=%s", job.name)
        finally:
            if locking:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_id(job.name)})
    return True


def build_scheduler(runtime: Runtime, jobs: list[Job] | None = None) -> BackgroundScheduler:
    """A scheduler with every job due once at start, then at its interval."""
    scheduler = BackgroundScheduler(timezone=UTC)
    for job in default_jobs() if jobs is None else jobs:
        scheduler.add_job(
            run_job,
            "interval",
            args=[runtime, job],
            seconds=job.every.total_seconds(),
            id=job.name,
            name=job.name,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
        )
    return scheduler


def _try_lock(conn: Connection, name: str) -> bool:
    acquired = conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": _lock_id(name)})
    return bool(acquired)


def _lock_id(name: str) -> int:
    digest = hashlib.sha256(f"scheduler:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
