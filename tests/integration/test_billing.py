"""Plans and their limits: the install reads the plan, subscription webhooks keep it (newest
wins), a shop over its plan's limit keeps ingesting and evaluating but pushes no tags and
fires no triggers, and choosing a larger plan resumes both (the held-back tags at once)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from plugin.billing.limits import overage
from plugin.billing.services import refresh_limits, stored_subscription
from plugin.outbox.models import TAGS
from plugin.platforms.shopify.install import add_custom_shop
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.profiles.models import Customer
from plugin.runtime import Runtime
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.segments.models import Segment, SegmentState
from plugin.segments.services import create_segment
from plugin.shops.models import Shop
from plugin.triggers.catalogue import FIRED, SKIPPED
from tests.support import triggers as fixtures
from tests.support.simulator import install_via_exchange
from tests.support.triggers import T0, TriggerWorld

receiver = fixtures.receiver  # the fixture, registered for this module
trig = fixtures.trig  # the fixture, registered for this module

MIN = timedelta(minutes=1)
FREE_LIMIT = 1_000


def subscription_update(name: str, status: str, at: datetime, number: int = 1) -> dict[str, Any]:
    stamp = at.isoformat()
    return {
        "app_subscription": {
            "admin_graphql_api_id": f"gid://shopify/AppSubscription/{number}",
            "name": name,
            "status": status,
            "admin_graphql_api_shop_id": "gid://shopify/Shop/1",
            "created_at": stamp,
            "updated_at": stamp,
        }
    }


def add_filler_customers(runtime: Runtime, shop_id: int, count: int) -> None:
    """Customers without orders, in one statement (they only count against the limit)."""
    rows = [{"shop_id": shop_id, "platform_id": str(900_000 + n)} for n in range(count)]
    with runtime.sessions.begin() as session:
        session.execute(insert(Customer), rows)


def billed_by_shopify(runtime: Runtime, shop_id: int) -> None:
    with runtime.sessions.begin() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        shop.auth_method = "oauth"


def plan_of(runtime: Runtime, shop_id: int) -> tuple[str, str]:
    with runtime.sessions() as session:
        sub = stored_subscription(session, shop_id)
        return sub.plan.name, sub.status


def is_over(runtime: Runtime, shop_id: int) -> bool:
    with runtime.sessions() as session:
        return overage(session, shop_id) is not None


def buyers_segment(trig: TriggerWorld) -> None:
    """A merchant's segment pushed as the tag `buyer`, evaluated once."""
    with trig.runtime.sessions.begin() as session:
        create_segment(
            session, trig.shop_id, "Buyers", "number_of_orders >= 1", now=T0, tag="buyer"
        )
    sweep_shop(trig.runtime, trig.shop_id, T0)


def is_member(trig: TriggerWorld, platform_id: str) -> bool:
    with trig.runtime.sessions() as session:
        segment = session.scalar(
            select(Segment).where(Segment.shop_id == trig.shop_id, Segment.name == "Buyers")
        )
        customer = session.scalar(
            select(Customer).where(
                Customer.shop_id == trig.shop_id, Customer.platform_id == platform_id
            )
        )
        assert segment is not None and customer is not None
        state = session.get(SegmentState, (trig.shop_id, customer.id, 0))  # word 0
        return state is not None and bool(state.mask & (1 << segment.bit))


def test_over_the_limit_pauses_tags_and_triggers_and_an_upgrade_resumes_them(
    trig: TriggerWorld,
) -> None:
    for customer_id in ("7", "8"):
        trig.customer(customer_id)
    buyers_segment(trig)
    billed_by_shopify(trig.runtime, trig.shop_id)
    add_filler_customers(trig.runtime, trig.shop_id, FREE_LIMIT + 1)
    refresh_limits(trig.runtime, [trig.shop_id], T0)  # the sweep job's recount
    assert plan_of(trig.runtime, trig.shop_id) == ("Free", "NONE")
    assert is_over(trig.runtime, trig.shop_id)

    trig.order("801", customer="8", at=T0 + MIN)  # ingest and evaluation go on …
    assert is_member(trig, "8")
    assert trig.outbox(TAGS) == []  # … but no tag is queued
    trig.checkout("tok1", customer="7", at=T0)
    trig.run(T0 + 61 * MIN)
    skipped = {(f.name, f.state, f.detail) for f in trig.firings()}
    paused = (
        "paused by the plan: 1,001 customers, the Free plan allows 1,000 "
        "(choose a larger plan to resume)"
    )
    assert skipped == {("welcome", SKIPPED, paused), ("abandoned_checkout", SKIPPED, paused)}
    assert trig.flow() == []
    assert trig.simulator.state.customer_tags(trig.domain, "8") == []

    at = T0 + 2 * 60 * MIN
    trig.webhook("app_subscriptions/update", subscription_update("Growth", "ACTIVE", at), at)
    assert plan_of(trig.runtime, trig.shop_id) == ("Growth", "ACTIVE")
    assert not is_over(trig.runtime, trig.shop_id)
    [row] = trig.outbox(TAGS)  # the drift repair queued the held-back tag at once
    assert row.why == "drift"
    trig.deliver(at)
    assert trig.simulator.state.customer_tags(trig.domain, "8") == ["seg:buyer"]

    trig.checkout("tok2", customer="7", at=at)
    trig.run(at + 61 * MIN)
    assert [f.state for f in trig.firings()] == [SKIPPED, SKIPPED, FIRED]
    assert trig.flow_handles() == ["abandoned-checkout"]


def test_an_older_subscription_update_is_ignored(trig: TriggerWorld) -> None:
    billed_by_shopify(trig.runtime, trig.shop_id)
    late = T0 + 10 * MIN
    trig.webhook("app_subscriptions/update", subscription_update("Scale", "ACTIVE", late, 2), late)
    # Delivered later, but written earlier: the stale news loses.
    trig.webhook("app_subscriptions/update", subscription_update("Growth", "ACTIVE", T0, 1), late)
    assert plan_of(trig.runtime, trig.shop_id) == ("Scale", "ACTIVE")


def test_the_end_of_a_replaced_subscription_keeps_the_new_plan(trig: TriggerWorld) -> None:
    billed_by_shopify(trig.runtime, trig.shop_id)
    at = T0 + MIN
    trig.webhook("app_subscriptions/update", subscription_update("Growth", "ACTIVE", at, 2), at)
    later = at + MIN  # the old subscription's cancellation comes after the new one's news
    trig.webhook(
        "app_subscriptions/update", subscription_update("Free", "CANCELLED", later, 1), later
    )
    assert plan_of(trig.runtime, trig.shop_id) == ("Growth", "ACTIVE")


def test_a_frozen_or_cancelled_subscription_falls_back_to_free(trig: TriggerWorld) -> None:
    billed_by_shopify(trig.runtime, trig.shop_id)
    add_filler_customers(trig.runtime, trig.shop_id, FREE_LIMIT + 1)
    trig.webhook("app_subscriptions/update", subscription_update("Growth", "ACTIVE", T0, 3), T0)
    assert not is_over(trig.runtime, trig.shop_id)
    at = T0 + MIN
    trig.webhook("app_subscriptions/update", subscription_update("Growth", "FROZEN", at, 3), at)
    assert plan_of(trig.runtime, trig.shop_id) == ("Free", "FROZEN")
    assert is_over(trig.runtime, trig.shop_id)  # a plan change recomputes at once


def test_a_custom_app_shop_is_never_limited(trig: TriggerWorld) -> None:
    trig.customer("8")
    buyers_segment(trig)
    add_filler_customers(trig.runtime, trig.shop_id, FREE_LIMIT + 1)
    refresh_limits(trig.runtime, [trig.shop_id], T0)
    assert not is_over(trig.runtime, trig.shop_id)
    trig.order("801", customer="8", at=T0 + MIN)
    assert len(trig.outbox(TAGS)) == 1


def test_the_install_reads_the_active_subscription(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    simulator.state.choose_plan("paid.myshopify.com", "Free")
    simulator.state.choose_plan("paid.myshopify.com", "Scale")  # replaces Free
    install_via_exchange(sim_runtime, simulator, "paid.myshopify.com")
    install_via_exchange(sim_runtime, simulator, "new.myshopify.com")
    with sim_runtime.sessions() as session:
        ids = dict(session.execute(select(Shop.domain, Shop.id)).tuples().all())
    assert plan_of(sim_runtime, ids["paid.myshopify.com"]) == ("Scale", "ACTIVE")
    assert plan_of(sim_runtime, ids["new.myshopify.com"]) == ("Free", "NONE")
    graphql = simulator.state.requests_of("graphql", "paid.myshopify.com")
    assert (
        sum("activeSubscriptions" in r.body.get("query", "") for r in graphql) == 1
    )  # no second call


def test_a_custom_app_install_reads_no_plan(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop = "custom.myshopify.com"
    simulator.state.choose_plan(shop, "Growth")  # the listing's app, not this custom app
    add_custom_shop(sim_runtime, shop, simulator.state.issue_custom_token(shop), "secret")
    with sim_runtime.sessions() as session:
        shop_id = session.scalar(select(Shop.id).where(Shop.domain == shop))
    assert shop_id is not None
    assert plan_of(sim_runtime, shop_id) == ("Free", "NONE")
    add_filler_customers(sim_runtime, shop_id, FREE_LIMIT + 1)
    refresh_limits(sim_runtime, [shop_id], T0)
    assert not is_over(sim_runtime, shop_id)


def test_status_names_the_plan(trig: TriggerWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    from plugin.commands import backfill as backfill_commands

    monkeypatch.setattr(backfill_commands, "load_runtime", lambda **_: trig.runtime)
    status = ["status", trig.domain]
    assert "plan: billed outside Shopify (no limits), 0 customers\n" in run_cli(status)
    billed_by_shopify(trig.runtime, trig.shop_id)
    add_filler_customers(trig.runtime, trig.shop_id, FREE_LIMIT + 1)
    refresh_limits(trig.runtime, [trig.shop_id], T0)
    assert (
        "plan: Free (NONE), 1,001 of 1,000 customers: OVER THE LIMIT, tag pushes and triggers "
        "paused\n"
    ) in run_cli(status)
    trig.webhook("app_subscriptions/update", subscription_update("Scale", "ACTIVE", T0), T0)
    assert "plan: Scale (ACTIVE), 1,001 of unlimited customers\n" in run_cli(status)


def run_cli(args: list[str]) -> str:
    from click.testing import CliRunner

    from plugin.cli import main

    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.output
