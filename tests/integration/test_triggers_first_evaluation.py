"""A customer first seen through old activity is history whichever evaluates them first, the
scheduled sweep or real time: the same reasons, firings and tags whatever the timing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from plugin.segments.evaluator_sweep import sweep_shop
from tests.integration.test_segment_eval_support import customer_id, segment_id, stays
from tests.support import triggers as fixtures
from tests.support.triggers import T0, TriggerWorld

trig = fixtures.trig  # the fixture, registered for this module

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
HISTORY = (
    "entered Inactive when the app first evaluated the segment (history), "
    "not by the customer's behaviour or time passing"
)


@pytest.mark.parametrize("sweep_first", [True, False], ids=["sweep-first", "webhook-first"])
def test_an_old_first_order_never_fires_reactivation_whenever_the_sweep_runs(
    trig: TriggerWorld, sweep_first: bool
) -> None:
    trig.customer("7")  # subscribed: a firing would reach Flow
    if sweep_first:  # the shop's first sweep settles the built-ins before the webhook
        sweep_shop(trig.runtime, trig.shop_id, T0)
    # A 1997-style order: placed long ago, delivered now (a replay, a late backfill).
    trig.order("1001", customer="7", at=T0 - 200 * DAY, processed_at=T0 + HOUR)
    sweep_shop(trig.runtime, trig.shop_id, T0 + 2 * HOUR)
    trig.run(T0 + 2 * HOUR)
    sweep_shop(trig.runtime, trig.shop_id, T0 + DAY)
    trig.run(T0 + DAY)

    with trig.runtime.sessions() as session:
        inactive = segment_id(session, trig.shop_id, "inactive")
        entered = stays(session, inactive, customer_id(session, trig.shop_id, "7"))
    assert [s[2] for s in entered] == ["initial"]
    decided = {f.name: (f.state, f.detail) for f in trig.firings()}
    assert decided["reactivation"] == ("skipped", HISTORY)
    assert trig.flow() == []
    tags = {c.customer_id: set(c.tags) for c in trig.simulator.state.customers.all(trig.domain)}
    # Neither the trigger's tag nor the built-in's (built-ins push no tag until chosen).
    assert not {"seg:reactivation", "seg:inactive"} & tags["7"]
