"""A burst of one-customer tag rows past the shop's bulk threshold is folded into one bulk
row (the simulated Shopify sees a bulk mutation, not a call per customer); under the
threshold, and for rows a loop has claimed, nothing changes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from plugin.db import utcnow
from plugin.outbox.models import BULK_TAGS, CANCELLED, DONE, PENDING, SENDING, TAGS, OutboxItem
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.runtime import Runtime
from plugin.scheduler import default_jobs, run_job
from plugin.shops.models import ShopSetting
from plugin.tagsync import backlog
from tests.integration.test_tagsync_support import (
    BUYERS,
    SHOP,
    drain_in_real_time,
    graphql_calls,
    installed_shop,
    outbox_rows,
    place_order,
)

CUSTOMERS = 12


def burst(runtime: Runtime, simulator: SimulatorHandle, threshold: int) -> int:
    shop_id = installed_shop(runtime, simulator)
    simulator.state.switches.tag_webhooks = False
    with runtime.sessions.begin() as session:
        session.merge(
            ShopSetting(shop_id=shop_id, key="bulk_threshold", value={"value": threshold})
        )
    for n in range(1, CUSTOMERS + 1):
        simulator.state.add_customer(SHOP, n)
        place_order(runtime, str(n), str(5000 + n), "20.00")
    assert len(outbox_rows(runtime, kind=TAGS, state=PENDING)) == CUSTOMERS
    return shop_id


def test_a_backlog_past_the_threshold_goes_out_as_one_bulk_mutation(
    sim_runtime: Runtime, simulator: SimulatorHandle, monkeypatch
) -> None:
    monkeypatch.setattr(backlog, "MIN_BACKLOG", 1)  # 12 rows stand for thousands
    burst(sim_runtime, simulator, threshold=5)
    with sim_runtime.sessions.begin() as session:  # one row a delivery loop holds
        claimed = session.scalars(select(OutboxItem).where(OutboxItem.kind == TAGS)).first()
        claimed.state = SENDING
        claimed.next_attempt_at = utcnow() + timedelta(minutes=10)

    [job] = [j for j in default_jobs() if j.name == "tagsync.fold_backlog"]
    assert run_job(sim_runtime, job, utcnow() + timedelta(seconds=1))

    folded = outbox_rows(sim_runtime, kind=TAGS, state=CANCELLED)
    [bulk] = outbox_rows(sim_runtime, kind=BULK_TAGS)
    assert len(folded) == CUSTOMERS - 1
    assert {r.last_error for r in folded} == {f"folded into bulk tag row {bulk.id}"}
    assert sorted(bulk.payload["customers"]) == sorted(r.customer_id for r in folded)
    assert claimed.customer_id not in bulk.payload["customers"]
    with sim_runtime.sessions.begin() as session:  # the loop holding it gives it back
        session.get(OutboxItem, claimed.id).next_attempt_at = utcnow()

    drain_in_real_time(sim_runtime)
    for n in range(1, CUSTOMERS + 1):
        assert BUYERS in simulator.state.customer_tags(SHOP, n)
    assert graphql_calls(simulator, "bulkOperationRunMutation") == 1
    assert graphql_calls(simulator, "tagsAdd") == 1  # the claimed row's own call only
    assert outbox_rows(sim_runtime, kind=BULK_TAGS)[0].state == DONE


def test_at_or_under_the_threshold_nothing_is_folded(
    sim_runtime: Runtime, simulator: SimulatorHandle, monkeypatch
) -> None:
    monkeypatch.setattr(backlog, "MIN_BACKLOG", 1)
    shop_id = burst(sim_runtime, simulator, threshold=CUSTOMERS)
    with sim_runtime.sessions.begin() as session:
        assert backlog.fold_shop_backlog(session, shop_id, utcnow() + timedelta(seconds=1)) == 0
    assert len(outbox_rows(sim_runtime, kind=TAGS, state=PENDING)) == CUSTOMERS
    assert outbox_rows(sim_runtime, kind=BULK_TAGS) == []
