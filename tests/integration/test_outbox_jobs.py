"""The outbox's scheduled jobs: delivery in every worker at once (no advisory lock), the sweep
job repairing drifted tags, and tokens refreshed before they expire."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from plugin.db import utcnow
from plugin.outbox.jobs import refresh_tokens
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.runtime import Runtime
from plugin.scheduler import _lock_id, default_jobs, run_job
from tests.integration.test_tagsync_support import (
    BUYERS,
    SHOP,
    installed_shop,
    place_order,
    tags_webhook,
)


def test_delivery_runs_in_every_worker_and_the_sweep_brings_a_removed_tag_back(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    jobs = {job.name: job for job in default_jobs()}
    delivery, sweep = jobs["outbox.delivery"], jobs["segments.sweep"]
    assert not delivery.exclusive and sweep.exclusive
    installed_shop(sim_runtime, simulator)
    simulator.state.add_customer(SHOP, 7, tags=["own"])
    place_order(sim_runtime, "7", "1001", "20.00")
    with sim_runtime.engine.connect() as other_worker:
        if other_worker.dialect.name == "postgresql":  # another worker runs the job now
            other_worker.execute(
                text("SELECT pg_advisory_lock(:k)"), {"k": _lock_id(delivery.name)}
            )
        assert run_job(sim_runtime, delivery)
    assert simulator.state.customer_tags(SHOP, 7) == ["own", BUYERS]

    simulator.state.customers.remove_tags(SHOP, "7", [BUYERS])  # by hand, in the admin
    later = utcnow() + timedelta(hours=2)  # the shop's next sweep is due
    tags_webhook(sim_runtime, "7", [BUYERS], added=False, at=later)
    assert run_job(sim_runtime, sweep, later)
    assert run_job(sim_runtime, delivery, later)
    assert simulator.state.customer_tags(SHOP, 7) == ["own", BUYERS]


def test_tokens_about_to_expire_are_refreshed_ahead(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    simulator.state.switches.access_token_ttl = 120  # inside the refresh margin at once
    installed_shop(sim_runtime, simulator)
    before = len(simulator.state.requests_of("access_token", SHOP, "refresh_token"))
    refresh_tokens(sim_runtime, utcnow())
    assert len(simulator.state.requests_of("access_token", SHOP, "refresh_token")) == before + 1
