"""10,000 customers entering a new segment reach the shop through one bulk mutation (staged
JSONL upload, run, poll, results) in a handful of calls; a failed line is retried alone."""

from __future__ import annotations

from sqlalchemy import func, insert, select

from plugin.db import utcnow
from plugin.outbox.models import BULK_TAGS, DONE, TAGS
from plugin.outbox.pacing import Pacer
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.profiles.models import Customer
from plugin.runtime import Runtime
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.segments.services import create_segment
from plugin.tagsync.drift import repair_drift
from plugin.triggers.models import TriggerFiring
from tests.integration.test_tagsync_support import (
    SHOP,
    drain_in_real_time,
    graphql_calls,
    installed_shop,
    outbox_rows,
)

COUNT = 10_000
EVERYONE = "seg:everyone"


def many_customers(runtime: Runtime, simulator: SimulatorHandle, shop_id: int) -> None:
    for n in range(1, COUNT + 1):
        simulator.state.add_customer(SHOP, n, tags=["vip"] if n == 1 else ())
    with runtime.sessions.begin() as session:
        session.execute(
            insert(Customer),
            [{"shop_id": shop_id, "platform_id": str(n)} for n in range(1, COUNT + 1)],
        )


def test_ten_thousand_customers_entering_a_new_segment_go_through_one_bulk_mutation(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop_id = installed_shop(sim_runtime, simulator)
    simulator.state.switches.tag_webhooks = False
    simulator.state.switches.bulk_fail_lines = {41}
    many_customers(sim_runtime, simulator, shop_id)
    with sim_runtime.sessions.begin() as session:
        create_segment(session, shop_id, "Everyone", "number_of_orders = 0", now=utcnow())
    sweep_shop(sim_runtime, shop_id, utcnow())  # reason rule_edit for all 10,000

    (bulk,) = outbox_rows(sim_runtime, kind=BULK_TAGS)
    assert len(bulk.payload["customers"]) == COUNT and bulk.why == "everyone"
    assert outbox_rows(sim_runtime, kind=TAGS) == []
    drain_in_real_time(sim_runtime, Pacer())

    tagged = [n for n in range(1, COUNT + 1) if EVERYONE in simulator.state.customer_tags(SHOP, n)]
    assert len(tagged) == COUNT
    assert simulator.state.customer_tags(SHOP, 1) == ["vip", EVERYONE]
    assert simulator.state.throttled_count[SHOP] == 0
    (bulk,) = outbox_rows(sim_runtime, kind=BULK_TAGS)
    assert bulk.state == DONE
    assert bulk.result is not None
    assert (bulk.result["added"], bulk.result["failed_lines"]) == (COUNT - 1, 1)
    # Line 41 (customer 42) failed in the bulk run and went alone, in one ordinary call.
    (alone,) = outbox_rows(sim_runtime, kind=TAGS)
    assert alone.state == DONE and alone.result is not None
    assert (alone.result["customer"], alone.result["added"]) == ("42", [EVERYONE])
    assert alone.why == "everyone (bulk line failed)"
    assert graphql_calls(simulator, "CustomerTagsAdd") == 1
    assert graphql_calls(simulator, "StagedUploadsCreate") == 1
    assert graphql_calls(simulator, "BulkOperationRunMutation") == 1
    assert graphql_calls(simulator, "BulkOperationStatus") <= 30
    # A rule edit is not behaviour: no trigger fires for these 10,000 entries.
    assert graphql_calls(simulator, "FlowTriggerReceive") == 0
    with sim_runtime.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(TriggerFiring)) == 0
        assert repair_drift(session, shop_id, utcnow()) == 0
