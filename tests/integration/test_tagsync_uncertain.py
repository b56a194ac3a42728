"""A tag call whose outcome the app never learns (the shop applied it, the answer was lost)
must not leave the shop holding a tag nobody wants: the retry states those tags again."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import insert, update

from plugin.db import utcnow
from plugin.outbox import context as outbox_context
from plugin.outbox import delivery
from plugin.outbox.models import BULK_TAGS, OutboxItem
from plugin.outbox.pacing import Pacer
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.profiles.models import Customer
from plugin.profiles.shop_settings import set_setting
from plugin.runtime import Runtime
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.segments.services import create_segment, disable_segment
from plugin.tagsync.tags import BULK_THRESHOLD
from tests.integration.test_tagsync_support import (
    BUYERS,
    SHOP,
    drain_in_real_time,
    drain_outbox,
    installed_shop,
    outbox_rows,
    place_order,
)

EVERYONE = "seg:everyone"


def test_a_lost_answer_then_a_change_of_mind_leaves_the_shop_as_desired(
    sim_runtime: Runtime, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop_id = installed_shop(sim_runtime, simulator)
    switches = simulator.state.switches
    switches.tag_webhooks = False  # no echo would tell the app what the shop holds
    simulator.state.add_customer(SHOP, 1, tags=["own-1"])
    place_order(sim_runtime, "1", "1001", "20.00")  # a Buyer: the tag is wanted
    monkeypatch.setattr(outbox_context, "CALL_TIMEOUT", (5, 0.3))
    switches.timeout_rate, switches.timeout_delay, switches.timeout_after_execute = 1.0, 0.6, True
    start = utcnow()
    delivery.deliver_due(sim_runtime, now=start, pacer=Pacer())
    assert BUYERS in simulator.state.customer_tags(SHOP, 1)  # applied, answer lost

    with sim_runtime.sessions.begin() as session:  # the tag is no longer wanted
        disable_segment(session, shop_id, "Buyers", now=start)
    switches.timeout_rate = 0.0
    drain_outbox(sim_runtime, now=start + timedelta(seconds=1), step=timedelta(minutes=30))
    assert simulator.state.customer_tags(SHOP, 1) == ["own-1"]


def test_a_bulk_operation_started_before_a_lost_answer_is_retried_with_its_own_lines(
    sim_runtime: Runtime, simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk mutation ran at the shop but its answer was lost: the retry runs the same
    lines (the plan is committed before any call, as every call ends the open
    transaction), records them, and the tags wanted by then follow. Re-planning instead
    would leave the first operation's tags unrecorded."""
    shop_id = installed_shop(sim_runtime, simulator)
    simulator.state.switches.tag_webhooks = False
    count = 30
    for n in range(1, count + 1):
        simulator.state.add_customer(SHOP, n)
    with sim_runtime.sessions.begin() as session:
        set_setting(session, shop_id, BULK_THRESHOLD, 10)
        session.execute(
            insert(Customer), [{"shop_id": shop_id, "platform_id": str(n)} for n in range(1, 31)]
        )
        create_segment(session, shop_id, "Everyone", "number_of_orders = 0", now=utcnow())
    sweep_shop(sim_runtime, shop_id, utcnow())
    (bulk,) = outbox_rows(sim_runtime, kind=BULK_TAGS)
    monkeypatch.setattr(outbox_context, "CALL_TIMEOUT", (5, 0.3))
    simulator.state.switches.timeout_delay = 0.6
    simulator.state.switches.late_once = {"BulkOperationRunMutation"}
    delivery.deliver_due(sim_runtime, now=utcnow(), pacer=Pacer())
    (bulk,) = outbox_rows(sim_runtime, kind=BULK_TAGS)
    assert bulk.attempts == 1 and bulk.payload.get("started")  # the plan outlived the failure
    wait_until(lambda: all(EVERYONE in simulator.state.customer_tags(SHOP, n) for n in (1, 30)))

    with sim_runtime.sessions.begin() as session:  # nobody wants the tag any more
        disable_segment(session, shop_id, "Everyone", now=utcnow())
        session.execute(update(OutboxItem).values(next_attempt_at=utcnow()))  # backoff over
    drain_in_real_time(sim_runtime, Pacer())
    assert [n for n in range(1, count + 1) if simulator.state.customer_tags(SHOP, n)] == []


def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the simulated bulk operation did not run"
        time.sleep(0.05)
