"""Short-lived trigger tags reach the simulated shop: added when a firing records one (even
without marketing consent), taken off once they run out, the merchant's own tags kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from plugin.outbox.models import TAGS
from plugin.segments.models import Segment
from plugin.segments.services import disable_segment
from plugin.tagsync.drift import repair_drift
from plugin.tagsync.models import ManagedTag
from plugin.tagsync.tags import segment_tags
from plugin.tagsync.trigger_tags import queue_expired
from plugin.triggers import settings as trigger_settings
from plugin.triggers.catalogue import ABANDONED_CHECKOUT
from tests.support import triggers as fixtures
from tests.support.triggers import SHOP, T0, TriggerWorld

trig = fixtures.trig  # the fixture, registered for this module

MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
REMINDER = "seg:cart-reminder"
FIRED_AT = T0 + 61 * MIN
RUNS_OUT = FIRED_AT + 72 * HOUR  # the default tag_hours


@pytest.fixture
def world(trig: TriggerWorld) -> TriggerWorld:
    """The triggers' shop with its built-in segments off, so the only app tags are triggers'."""
    with trig.runtime.sessions.begin() as session:
        for name in session.scalars(select(Segment.name).where(Segment.shop_id == trig.shop_id)):
            disable_segment(session, trig.shop_id, name, now=T0)
    return trig


def abandon(world: TriggerWorld, customer: str, state: str, tags: list[str]) -> None:
    world.simulator.state.add_customer(
        SHOP, customer, email=f"c{customer}@example.com", email_marketing_state=state, tags=tags
    )
    world.checkout(f"tok{customer}", customer=customer, at=T0)


def shop_tags(world: TriggerWorld, customer: str) -> list[str]:
    return world.simulator.state.customer_tags(SHOP, customer)


def test_a_customer_without_consent_gets_the_tag_but_no_flow_trigger(world: TriggerWorld) -> None:
    abandon(world, "7", "UNSUBSCRIBED", ["wholesale"])
    world.run(FIRED_AT)

    assert world.flow() == []
    assert shop_tags(world, "7") == ["wholesale", REMINDER]
    with world.runtime.sessions() as session:
        owned = session.scalar(select(ManagedTag).where(ManagedTag.tag == REMINDER))
    assert owned is not None and owned.segment_id is None
    [row] = world.outbox(TAGS)
    assert (row.why, row.result) == (
        "trigger abandoned_checkout",
        {"customer": "7", "added": [REMINDER], "removed": []},
    )


def test_the_tag_is_removed_once_it_runs_out_and_only_once(world: TriggerWorld) -> None:
    abandon(world, "7", "SUBSCRIBED", ["wholesale", "vip"])
    world.run(FIRED_AT)
    assert world.flow_handles() == ["abandoned-checkout"]
    assert shop_tags(world, "7") == ["wholesale", "vip", REMINDER]

    world.run(RUNS_OUT - MIN)  # still active: nothing to do
    assert shop_tags(world, "7") == ["wholesale", "vip", REMINDER]
    world.run(RUNS_OUT)
    assert shop_tags(world, "7") == ["wholesale", "vip"]
    world.run(RUNS_OUT + MIN)  # the scan finds the expired firing again: nothing is owed
    with world.runtime.sessions.begin() as session:
        assert queue_expired(session, world.shop_id, RUNS_OUT + 2 * MIN) == 0
    assert [r.result["removed"] for r in world.outbox(TAGS)] == [[], [REMINDER]]


def test_drift_repair_keeps_an_active_trigger_tag_and_removes_an_expired_one(
    world: TriggerWorld,
) -> None:
    abandon(world, "7", "SUBSCRIBED", ["wholesale"])
    world.run(FIRED_AT)
    with world.runtime.sessions.begin() as session:
        assert repair_drift(session, world.shop_id, FIRED_AT + HOUR) == 0
        assert repair_drift(session, world.shop_id, RUNS_OUT + HOUR) == 1  # no scan ran
    world.deliver(RUNS_OUT + HOUR)
    assert shop_tags(world, "7") == ["wholesale"]


def test_the_reminder_tag_differs_from_the_abandoned_cart_segments_tag(
    trig: TriggerWorld,
) -> None:
    with trig.runtime.sessions() as session:
        segment = {t.slug: t.tag for t in segment_tags(session, trig.shop_id)}["abandoned-cart"]
        reminder = trigger_settings.load(session, trig.shop_id, ABANDONED_CHECKOUT)["tag"]
    assert (segment, reminder) == ("seg:abandoned-cart", REMINDER)
