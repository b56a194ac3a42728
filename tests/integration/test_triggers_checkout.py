"""The abandoned-checkout trigger end to end: checkout webhooks through the worker, the
scan at chosen times, Flow triggers delivered to the simulator over real HTTP."""

from __future__ import annotations

from datetime import timedelta

from plugin.triggers.journeys import ABANDONED, EXPIRED, IDLE, RECOVERED, STARTED
from tests.support import triggers as fixtures
from tests.support.triggers import T0, TriggerWorld

receiver = fixtures.receiver  # the fixture, registered for this module
trig = fixtures.trig  # the fixture, registered for this module

MIN = timedelta(minutes=1)
ABANDONED_HANDLE = "abandoned-checkout"


def test_checkout_completed_at_59_minutes_fires_nothing(trig: TriggerWorld) -> None:
    trig.customer("7")
    trig.checkout("tok1", customer="7", at=T0)
    trig.checkout("tok1", customer="7", at=T0 + 59 * MIN, completed_at=(T0 + 59 * MIN).isoformat())
    trig.run(T0 + 61 * MIN)
    assert trig.flow() == []
    assert trig.firings() == []
    assert trig.journey("tok1").state == RECOVERED


def test_checkout_idle_61_minutes_without_order_fires_once(trig: TriggerWorld) -> None:
    trig.customer("7")
    trig.checkout("tok1", customer="7", at=T0)
    trig.run(T0 + 59 * MIN)
    assert trig.flow() == []
    assert trig.journey("tok1").state == STARTED

    trig.run(T0 + 61 * MIN)
    trig.run(T0 + 62 * MIN)  # later scans add nothing
    [sent] = trig.flow()
    assert sent["handle"] == "abandoned-checkout"
    payload = sent["payload"]
    [firing] = trig.firings()
    assert payload == {
        "customer_id": 7,
        "Trigger ID": firing.trigger_id,
        "Recovery URL": "https://triggers.myshopify.com/recover/tok1",
        "Cart value": 80.0,
        "Currency": "USD",
        "Line items": "1 x Trail shoe",
        "Reminder step": 1,
    }
    assert (firing.state, firing.fired_at) == ("fired", T0 + 61 * MIN)
    assert trig.journey("tok1").state == IDLE


def test_duplicated_checkout_updates_still_fire_one_trigger(trig: TriggerWorld) -> None:
    trig.customer("7")
    payload = trig.checkout("tok1", customer="7", at=T0)
    for _ in range(3):  # Shopify delivers the same update again (new webhook ids)
        trig.webhook("checkouts/update", payload, T0 + 5 * MIN)
    trig.run(T0 + 61 * MIN)
    trig.run(T0 + 61 * MIN)
    assert trig.flow_handles() == ["abandoned-checkout"]
    assert len(trig.firings()) == 1


def test_an_order_through_the_checkout_cancels_the_reminder(trig: TriggerWorld) -> None:
    trig.customer("7")
    trig.checkout("tok1", customer="7", at=T0)
    trig.order("1001", customer="7", at=T0 + 30 * MIN, checkout_token="tok1")
    trig.run(T0 + 61 * MIN)
    assert trig.flow_of(ABANDONED_HANDLE) == []
    assert trig.journey("tok1").state == RECOVERED


def test_any_order_by_the_customer_after_the_checkout_started_recovers_it(
    trig: TriggerWorld,
) -> None:
    trig.customer("7")
    trig.checkout("tok1", customer="7", at=T0)
    trig.order("1001", customer="7", at=T0 + 30 * MIN)  # another checkout, or the POS
    trig.run(T0 + 61 * MIN)
    assert trig.flow_of(ABANDONED_HANDLE) == []


def test_an_order_after_the_reminder_was_scheduled_but_not_sent_cancels_it(
    trig: TriggerWorld,
) -> None:
    trig.customer("7")
    trig.set("general", quiet_hours="12:30-14:00")  # the 1 h reminder lands in quiet hours
    trig.checkout("tok1", customer="7", at=T0)
    trig.run(T0 + 61 * MIN)
    [firing] = trig.firings()
    assert firing.state == "deferred"
    trig.set("welcome", enabled="false")
    trig.order("1001", customer="7", at=T0 + 90 * MIN, checkout_token="tok1")
    trig.run(T0 + 3 * 60 * MIN)
    assert trig.flow() == []
    [firing] = trig.firings()
    assert (firing.state, firing.detail) == ("cancelled", "recovered: order #1001")


def test_three_steps_fire_at_1h_24h_72h_then_the_journey_expires(trig: TriggerWorld) -> None:
    trig.customer("7")
    trig.set("abandoned_checkout", steps="1h,24h,72h", expire_after_days=5)
    trig.set("general", frequency_cap=0)  # steps are a day apart anyway; keep this about steps
    trig.checkout("tok1", customer="7", at=T0)
    hours = timedelta(hours=1)
    for at in (T0 + 61 * MIN, T0 + 23 * hours, T0 + 24 * hours + MIN, T0 + 72 * hours + MIN):
        trig.run(at)
    steps = [t["payload"]["Reminder step"] for t in trig.flow()]
    assert steps == [1, 2, 3]
    assert trig.journey("tok1").state == ABANDONED  # past the shop's 10 h abandonment
    trig.run(T0 + 5 * 24 * hours + MIN)
    assert trig.journey("tok1").state == EXPIRED
    assert len(trig.flow()) == 3


def test_activity_in_the_checkout_restarts_the_clock(trig: TriggerWorld) -> None:
    trig.customer("7")
    trig.checkout("tok1", customer="7", at=T0)
    trig.checkout("tok1", customer="7", at=T0 + 50 * MIN)  # still shopping
    trig.run(T0 + 61 * MIN)
    assert trig.flow() == []
    trig.run(T0 + 111 * MIN)
    assert trig.flow_handles() == ["abandoned-checkout"]
