"""Choosing a plan over real HTTP: the simulator's hosted plan page activates the plan and
sends a signed app_subscriptions/update to the running app, whose worker lifts the pause and
queues the tags held back; the outbox then pushes them to the shop."""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests
from sqlalchemy import insert, select

from plugin.billing.limits import overage
from plugin.billing.services import refresh_limits, stored_subscription
from plugin.db import utcnow
from plugin.outbox.delivery import drain as drain_outbox
from plugin.outbox.models import TAGS, OutboxItem
from plugin.platforms.shopify.pricing import pricing_page_url
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.profiles.models import Customer
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.segments.services import create_segment
from plugin.settings import Settings
from plugin.shops.models import Shop
from tests.support.live import LiveApp
from tests.support.profiles import order_payload
from tests.support.simulator import install_via_exchange

SHOP = "upgrade.myshopify.com"


@pytest.fixture
def settings(settings: Settings, simulator: SimulatorHandle) -> Settings:
    """The live app talks to the simulator."""
    return replace(settings, shopify_base_url=simulator.base_url)


def tag_rows(live_app: LiveApp, shop_id: int) -> list[OutboxItem]:
    with live_app.runtime.sessions() as session:
        stmt = select(OutboxItem).where(OutboxItem.shop_id == shop_id, OutboxItem.kind == TAGS)
        return list(session.scalars(stmt))


def test_choosing_a_plan_on_the_hosted_page_resumes_tag_pushes(
    live_app: LiveApp, simulator: SimulatorHandle
) -> None:
    state = simulator.state
    state.app_webhooks.append(("APP_SUBSCRIPTIONS_UPDATE", live_app.url + "/webhooks/shopify"))
    state.application_url = live_app.url + "/admin"
    state.add_customer(SHOP, "8", email="c8@example.com")
    runtime = live_app.runtime
    install_via_exchange(runtime, simulator, SHOP)
    now = utcnow()
    with runtime.sessions.begin() as session:
        shop_id = session.scalar(select(Shop.id).where(Shop.domain == SHOP))
        assert shop_id is not None
        create_segment(session, shop_id, "Buyers", "number_of_orders >= 1", now=now, tag="buyer")
        filler = [{"shop_id": shop_id, "platform_id": str(900_000 + n)} for n in range(1_001)]
        session.execute(insert(Customer), filler)
    refresh_limits(runtime, [shop_id], now)  # over the Free plan's limit: paused
    sweep_shop(runtime, shop_id, now)

    order = order_payload("801", customer="8", total="10.00", updated_at=now)
    assert live_app.post_webhook("orders/create", SHOP, order).status_code == 200
    live_app.drain()
    assert tag_rows(live_app, shop_id) == []  # neither the sweep nor the order queued tags

    url = pricing_page_url(runtime.settings, SHOP)
    assert "Choose Growth" in requests.get(url, timeout=10).text
    answer = requests.post(url, data={"plan": "Growth"}, allow_redirects=False, timeout=10)
    assert answer.status_code == 303
    assert answer.headers["Location"] == live_app.url + "/admin/plan"  # the welcome link
    [delivery] = [d for d in state.webhook_deliveries if d.topic == "app_subscriptions/update"]
    assert delivery.status == 200

    live_app.drain()
    with runtime.sessions() as session:
        assert stored_subscription(session, shop_id).plan.name == "Growth"
        assert overage(session, shop_id) is None
    [row] = tag_rows(live_app, shop_id)
    assert row.why == "drift"
    drain_outbox(runtime, now=utcnow())
    assert state.customer_tags(SHOP, "8") == ["seg:buyer"]


def test_the_hosted_page_refuses_an_unknown_plan_or_app(simulator: SimulatorHandle) -> None:
    url = f"{simulator.base_url.replace('{shop}', SHOP)}/admin/charges"
    gold = requests.post(f"{url}/shop-segments/pricing_plans", data={"plan": "Gold"}, timeout=10)
    assert gold.status_code == 400
    assert requests.get(f"{url}/another-app/pricing_plans", timeout=10).status_code == 404
    assert simulator.state.active_subscriptions(SHOP) == []
