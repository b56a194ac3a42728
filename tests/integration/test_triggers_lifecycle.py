"""Reactivation, welcome and category follow-up: fired for live behaviour, never for history."""

from __future__ import annotations

from datetime import timedelta

from plugin.segments.evaluator_sweep import sweep_shop
from plugin.segments.models import SWEEP
from plugin.segments.services import edit_segment
from tests.integration.test_segment_eval_support import customer_id, segment_id, stays
from tests.support import triggers as fixtures
from tests.support.profiles import line_item, product_payload
from tests.support.triggers import T0, TriggerWorld

trig = fixtures.trig  # the fixture, registered for this module

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
REACTIVATION = "customer-reactivation"


def _inactive_stays(trig: TriggerWorld, platform_id: str) -> list[tuple[object, ...]]:
    with trig.runtime.sessions() as session:
        inactive = segment_id(session, trig.shop_id, "inactive")
        return stays(session, inactive, customer_id(session, trig.shop_id, platform_id))


def test_a_sweep_entry_into_inactive_fires_reactivation_once(trig: TriggerWorld) -> None:
    trig.customer("7")
    sweep_shop(trig.runtime, trig.shop_id, T0)  # settles the built-ins on an empty shop
    trig.order("1001", customer="7", at=T0 + HOUR)
    sweep_shop(trig.runtime, trig.shop_id, T0 + DAY)
    trig.run(T0 + DAY)  # the welcome
    sweep_shop(trig.runtime, trig.shop_id, T0 + 95 * DAY)  # 94 days silent: inactive
    trig.run(T0 + 95 * DAY)
    sweep_shop(trig.runtime, trig.shop_id, T0 + 96 * DAY)
    trig.run(T0 + 96 * DAY)
    assert [s[2] for s in _inactive_stays(trig, "7")] == [SWEEP]
    [sent] = trig.flow_of(REACTIVATION)
    assert sent["payload"]["Segment"] == "Inactive"
    assert sent["payload"]["Days since last order"] == 94


def test_initial_entries_into_inactive_fire_nothing(trig: TriggerWorld) -> None:
    trig.customer("7")
    # History that reached the app before the shop's first evaluation (a backfill).
    trig.order("1001", customer="7", at=T0 - 200 * DAY, processed_at=T0 + HOUR)
    sweep_shop(trig.runtime, trig.shop_id, T0 + 2 * HOUR)
    trig.run(T0 + 2 * HOUR)
    assert _inactive_stays(trig, "7"), "the customer is in Inactive"
    assert {s[2] for s in _inactive_stays(trig, "7")} <= {"initial", "threshold"}
    decided = {f.name: (f.state, f.detail) for f in trig.firings()}
    assert decided == {
        "welcome": (
            "skipped",
            "order placed before the app was installed (placed 2025-08-14, installed 2026-03-02)",
        ),
        "reactivation": (
            "skipped",
            "entered Inactive when the app first evaluated the segment (history), "
            "not by the customer's behaviour or time passing",
        ),
    }
    assert trig.flow() == []


def test_rule_edit_entries_into_inactive_fire_nothing(trig: TriggerWorld) -> None:
    trig.customer("7")
    trig.set("welcome", enabled="false")
    sweep_shop(trig.runtime, trig.shop_id, T0)
    trig.order("1001", customer="7", at=T0 + HOUR)
    sweep_shop(trig.runtime, trig.shop_id, T0 + DAY)
    with trig.runtime.sessions.begin() as session:
        edit_segment(session, trig.shop_id, "Inactive", "last_order_date < -1d", now=T0 + 3 * DAY)
    sweep_shop(trig.runtime, trig.shop_id, T0 + 3 * DAY)
    trig.run(T0 + 3 * DAY)
    assert [s[2] for s in _inactive_stays(trig, "7")] == ["rule_edit"]
    [skipped] = trig.firings()
    assert (skipped.name, skipped.state) == ("reactivation", "skipped")
    assert "because the segment's rules were edited" in (skipped.detail or "")
    assert trig.flow() == []


def test_welcome_fires_on_the_first_live_order_only(trig: TriggerWorld) -> None:
    trig.customer("7")
    trig.order("1001", customer="7", at=T0 + HOUR)
    trig.order("1002", customer="7", at=T0 + 3 * DAY)
    trig.run(T0 + 4 * DAY)
    [sent] = trig.flow()
    assert sent["handle"] == "customer-welcome"
    assert sent["payload"]["Order name"] == "#1001"


def test_welcome_never_fires_for_history(trig: TriggerWorld) -> None:
    for customer in ("8", "9"):
        trig.customer(customer)
    # Placed before install, delivered after it (a backfill or a replay of old deliveries).
    trig.order("2001", customer="8", at=T0 - 10 * DAY, processed_at=T0 + HOUR)
    # Placed after install, but reaching the worker days later (a replay).
    trig.order("2002", customer="9", at=T0 + DAY, processed_at=T0 + 5 * DAY)
    trig.run(T0 + 5 * DAY)
    assert [(f.state, f.detail) for f in trig.firings()] == [
        (
            "skipped",
            "order placed before the app was installed (placed 2026-02-20, installed 2026-03-02)",
        ),
        ("skipped", "order reached the app 4 days after it was placed (history, not a live order)"),
    ]
    assert trig.flow() == []


def test_category_follow_up_fires_n_days_after_a_purchase_of_the_type(
    trig: TriggerWorld,
) -> None:
    trig.customer("7")
    trig.set("category_follow_up", product_type="Shoes", days=5)
    trig.set("welcome", enabled="false")
    shoe = product_payload("501", product_type="Shoes", vendor="Acme", updated_at=T0)
    hat = product_payload("502", product_type="Hats", vendor="Acme", updated_at=T0)
    trig.webhook("products/create", shoe, T0)
    trig.webhook("products/create", hat, T0)
    lines = [line_item("501", "60.00", title="Trail shoe"), line_item("502", "20.00", id=2)]
    trig.order("1001", customer="7", at=T0 + HOUR, lines=lines)
    trig.order("1002", customer="7", at=T0 + 2 * HOUR, lines=[line_item("502", "20.00")])
    trig.run(T0 + 5 * DAY)  # not yet: five days after 13:00 is 13:00
    assert trig.flow() == []
    trig.run(T0 + 5 * DAY + 2 * HOUR)
    trig.run(T0 + 5 * DAY + 3 * HOUR)
    [sent] = trig.flow()
    assert sent["handle"] == "category-follow-up"
    payload = sent["payload"]
    assert (payload["Product type"], payload["Order name"]) == ("Shoes", "#1001")
    assert (payload["Products"], payload["Days since purchase"]) == ("Trail shoe", 5)
