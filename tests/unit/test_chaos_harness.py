"""The chaos harness's own logic: its replay plan and the comparison that must fail on any
difference (a comparison that passes everything would make the chaos run prove nothing)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import datetime

from benchmarks.cdnow import read_transactions, signed_deliveries
from benchmarks.chaos import chaos_plan
from benchmarks.chaos_state import EndState, differences, duplicate_triggers

T = datetime(1997, 3, 1, 17)


def _state() -> EndState:
    return EndState(
        profiles={"1": (2, 5000, 2500, T, T, 3.0), "2": (1, 1000, 1000, T, T, None)},
        orders=3,
        memberships=frozenset({("Repeat customers", "1"), ("New customers", "2")}),
        dead_deliveries=0,
        tags={"1": ("seg:repeat-customers",)},
        triggers=Counter({("welcome", "2"): 1}),
    )


def test_equal_states_have_no_differences() -> None:
    assert differences(_state(), _state()) == []


def test_every_kind_of_difference_is_named() -> None:
    clean = _state()
    cases = {
        "profile 1": replace(clean, profiles={**clean.profiles, "1": (2, 5001, 2500, T, T, 3.0)}),
        "orders": replace(clean, orders=4),
        "membership": replace(clean, memberships=clean.memberships - {("New customers", "2")}),
        "dead deliveries": replace(clean, dead_deliveries=1),
        "tags 1": replace(clean, tags={}),
        "trigger": replace(clean, triggers=Counter({("welcome", "1"): 1})),
    }
    for expected, chaotic in cases.items():
        found = differences(clean, chaotic)
        assert found and all(line.startswith(expected) for line in found), (expected, found)


def test_a_trigger_received_twice_is_counted_but_not_a_difference() -> None:
    twice = replace(_state(), triggers=Counter({("welcome", "2"): 2}))
    assert differences(_state(), twice) == []
    assert duplicate_triggers(twice) == 1


def test_many_differences_are_capped_with_a_count() -> None:
    clean = replace(_state(), profiles={str(i): (1,) for i in range(20)})
    chaotic = replace(clean, profiles={})
    found = differences(clean, chaotic)
    assert len(found) == 6 and found[-1] == "… and 15 more profile differences"


def test_the_plan_sends_each_delivery_one_to_three_times_shuffled() -> None:
    deliveries = signed_deliveries(read_transactions(200), "a.myshopify.com", "secret")
    plan = chaos_plan(deliveries, random.Random(3))
    by_event = Counter(d.headers["X-Shopify-Event-Id"] for d in plan)
    assert set(by_event) == {d.headers["X-Shopify-Event-Id"] for d in deliveries}
    assert set(by_event.values()) == {1, 2, 3}
    resent = [d for d in plan if d.webhook_id != d.headers["X-Shopify-Webhook-Id"]]
    assert not resent  # the header and the field always agree
    assert any("-again-" in d.webhook_id for d in plan)  # some repeats are new deliveries
    assert [d.webhook_id for d in plan[:50]] != [d.webhook_id for d in deliveries[:50]]
