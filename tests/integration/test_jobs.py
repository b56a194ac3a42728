"""The worker's scheduled jobs include profile upkeep that no webhook triggers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from plugin.jobs import refresh_abandoned_checkouts
from plugin.profiles.models import Customer
from plugin.runtime import Runtime
from plugin.scheduler import default_jobs, run_job
from tests.support.profiles import NOW, apply_payload, checkout_payload, make_shop


def abandoned_count(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        customer = session.scalar(select(Customer).where(Customer.platform_id == "5"))
        assert customer is not None
        return customer.abandoned_checkouts_count


def test_a_checkout_becomes_abandoned_by_time_alone(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        shop = make_shop(session)
        checkout = checkout_payload("k1", customer="5", total="30.00", updated_at=NOW)
        apply_payload(session, shop, "checkouts/create", checkout, settings=runtime.settings)
    assert abandoned_count(runtime) == 0
    refresh_abandoned_checkouts(runtime, NOW + timedelta(hours=9))
    assert abandoned_count(runtime) == 0  # 10 idle hours by default
    refresh_abandoned_checkouts(runtime, NOW + timedelta(hours=11))
    assert abandoned_count(runtime) == 1


def test_the_scheduler_runs_profile_upkeep(runtime: Runtime) -> None:
    jobs = {job.name: job for job in default_jobs()}
    assert {"profiles.abandonment", "products.lookup"} <= set(jobs)
    with runtime.sessions() as session:
        shop = make_shop(session)
        checkout = checkout_payload("k1", customer="5", total="30.00", updated_at=NOW)
        apply_payload(session, shop, "checkouts/create", checkout, settings=runtime.settings)
    assert run_job(runtime, jobs["profiles.abandonment"], NOW + timedelta(days=1))
    assert abandoned_count(runtime) == 1
