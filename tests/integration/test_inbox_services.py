"""Inbox housekeeping and status: purge, payload reduction, late releases, counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from plugin.db import utcnow
from plugin.errors import NotFoundError
from plugin.inbox.models import AWAITING_INSTALL, DEAD, DONE, PENDING, InboxRow
from plugin.inbox.services import (
    inbox_status,
    purge_never_installed,
    reduce_processed_payloads,
    retry_dead,
)
from plugin.runtime import Runtime
from plugin.scheduler import default_jobs, run_job
from plugin.worker import drain
from tests.support.inbox import Recorder, add_shop, deliver

SHOP = "demo-shop.myshopify.com"
OTHER = "other-shop.myshopify.com"


def rows(runtime: Runtime) -> list[InboxRow]:
    with runtime.sessions() as session:
        return list(session.scalars(select(InboxRow).order_by(InboxRow.id)))


def housekeeping(runtime: Runtime, days_later: float) -> None:
    [job] = [j for j in default_jobs() if j.name == "inbox.housekeeping"]
    assert run_job(runtime, job, now=utcnow() + timedelta(days=days_later))


def test_deliveries_of_a_never_installed_shop_are_purged_after_seven_days(
    runtime: Runtime,
) -> None:
    deliver(runtime, SHOP, {"marker": "a"})
    housekeeping(runtime, days_later=6.9)
    assert len(rows(runtime)) == 1
    housekeeping(runtime, days_later=7.1)
    assert rows(runtime) == []


def test_purge_spares_pending_and_dead_rows(runtime: Runtime) -> None:
    add_shop(runtime, SHOP)
    deliver(runtime, SHOP, {"marker": "a"})
    deliver(runtime, OTHER, {"marker": "b"})
    with runtime.sessions.begin() as session:
        session.execute(update(InboxRow).where(InboxRow.shop_domain == OTHER).values(status=DEAD))
        assert purge_never_installed(session, utcnow() + timedelta(days=30), 7) == 0
    assert len(rows(runtime)) == 2


def test_processed_payloads_are_reduced_to_metadata_after_fourteen_days(
    runtime: Runtime, recorder: Recorder
) -> None:
    add_shop(runtime, SHOP)
    deliver(runtime, SHOP, {"marker": "a"}, webhook_id="w-1", event_id="e-1")
    deliver(runtime, SHOP, {"invalid": True})
    drain(runtime)
    housekeeping(runtime, days_later=13.9)
    assert all(r.payload is not None for r in rows(runtime))
    housekeeping(runtime, days_later=14.1)
    done, dead = rows(runtime)
    assert (done.status, done.payload, done.webhook_id, done.event_id) == (
        DONE,
        None,
        "w-1",
        "e-1",
    )
    assert done.topic and done.processed_at and done.subject_ids == "c1"
    assert dead.status == DEAD and dead.payload is not None  # never processed: kept


def test_reduction_leaves_unprocessed_rows_alone(runtime: Runtime) -> None:
    add_shop(runtime, SHOP)
    deliver(runtime, SHOP, {"marker": "a"})
    with runtime.sessions.begin() as session:
        assert reduce_processed_payloads(session, utcnow() + timedelta(days=90), 14) == 0
    assert rows(runtime)[0].payload is not None


def test_housekeeping_releases_deliveries_that_raced_an_install(
    runtime: Runtime, recorder: Recorder
) -> None:
    deliver(runtime, SHOP, {"marker": "a"})  # stored as awaiting just as the install commits
    add_shop(runtime, SHOP)
    housekeeping(runtime, days_later=0)
    assert [r.status for r in rows(runtime)] == [PENDING]
    drain(runtime)
    assert [r.status for r in rows(runtime)] == [DONE]


def test_status_counts_one_shop_and_ages_its_oldest_pending_row(runtime: Runtime) -> None:
    add_shop(runtime, SHOP)
    for _ in range(3):
        deliver(runtime, SHOP, {"marker": "a"})
    deliver(runtime, OTHER, {"marker": "b"})
    with runtime.sessions.begin() as session:
        first = session.scalars(select(InboxRow).order_by(InboxRow.id)).first()
        assert first is not None
        first.status = DEAD
        first.received_at = utcnow() - timedelta(hours=3)
    with runtime.sessions() as session:
        report = inbox_status(session, SHOP)
        other = inbox_status(session, OTHER)
    assert report.counts == {PENDING: 2, DEAD: 1}
    assert report.shop_known and not other.shop_known
    assert other.counts == {AWAITING_INSTALL: 1}
    age = report.oldest_pending_age(utcnow())
    assert age is not None and timedelta(0) <= age < timedelta(minutes=5)  # not the dead one


def test_status_of_an_unknown_shop_is_not_found(runtime: Runtime) -> None:
    with runtime.sessions() as session, pytest.raises(NotFoundError, match="nope"):
        inbox_status(session, "nope.myshopify.com")


def test_retry_dead_gives_fresh_attempts(runtime: Runtime, recorder: Recorder) -> None:
    add_shop(runtime, SHOP)
    deliver(runtime, SHOP, {"marker": "a"})
    with runtime.sessions.begin() as session:
        session.execute(update(InboxRow).values(status=DEAD, attempts=5))
        assert retry_dead(session, "shopify", SHOP) == 1
    drain(runtime)
    assert [(r.status, r.attempts) for r in rows(runtime)] == [(DONE, 0)]


def test_a_job_another_worker_is_running_is_skipped(runtime: Runtime, backend: str) -> None:
    from sqlalchemy import text

    from plugin.scheduler import Job, _lock_id

    if backend != "postgresql":
        pytest.skip("job exclusivity uses PostgreSQL advisory locks")
    ran: list[bool] = []
    job = Job("test.job", lambda rt, now: ran.append(True), timedelta(minutes=1))
    with runtime.engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _lock_id(job.name)})
        assert run_job(runtime, job) is False
        other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_id(job.name)})
        other.commit()
    assert run_job(runtime, job) is True
    assert ran == [True]
