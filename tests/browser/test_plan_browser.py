"""The Plan page in a real browser: its link opens the simulator's hosted plan page at the
top level, choosing a plan there comes back to the app, and the new plan shows once the
worker has read Shopify's webhook."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from playwright.sync_api import Page, expect

from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.settings import Settings
from plugin.shops.models import Shop
from tests.browser.conftest import screenshot
from tests.browser.test_admin_browser import admin_link
from tests.support.admin import people, seed_shop
from tests.support.live import LiveApp

SHOP = "plans.myshopify.com"


@pytest.fixture
def settings(settings: Settings, simulator: SimulatorHandle) -> Settings:
    """The live app talks to the simulator, so its Plan page links to the simulator's."""
    return replace(settings, shopify_base_url=simulator.base_url)


def test_choose_a_plan_on_the_hosted_page_and_see_it_after_reload(
    page: Page, live_app: LiveApp, simulator: SimulatorHandle
) -> None:
    simulator.state.app_webhooks.append(
        ("APP_SUBSCRIPTIONS_UPDATE", live_app.url + "/webhooks/shopify")
    )
    simulator.state.application_url = live_app.url + "/admin"
    shop = seed_shop(live_app.runtime, SHOP, people(12))
    with live_app.runtime.sessions.begin() as session:
        row = session.get(Shop, shop.shop_id)
        assert row is not None
        row.auth_method = "oauth"  # installed from the app's listing: billed by Shopify

    page.goto(admin_link(live_app, shop))
    page.get_by_role("link", name="Plan").first.click()
    expect(page.locator("h1")).to_have_text("Plan")
    expect(page.locator("#plan-name")).to_have_text("Free")
    expect(page.locator("#plan-customers")).to_have_text("12")
    screenshot(page, "en-plan")

    choose = page.get_by_role("link", name="Choose a plan")
    expect(choose).to_have_attribute("target", "_top")
    choose.click()
    expect(page).to_have_url(re.compile(rf"/{SHOP}/admin/charges/shop-segments/pricing_plans$"))
    page.get_by_role("button", name="Choose Growth").click()

    expect(page).to_have_url(f"{live_app.url}/admin/plan")  # Shopify's welcome link
    live_app.drain()  # the worker reads app_subscriptions/update
    page.reload()
    expect(page.locator("#plan-name")).to_have_text("Growth")
    expect(page.locator('tr[data-plan="Growth"]')).to_contain_text("Current plan")
    screenshot(page, "en-plan-growth")
