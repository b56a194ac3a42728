"""The README's walk-through in a real browser, against `shopseg demo`'s shop: sign in by the
admin link, a segment from a typo to a save with "push as a tag", its tag at the (simulated)
shop, the dashboard, a member's timeline, a trigger setting, Polish."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from plugin.db import utcnow
from plugin.demo.cdnow_shop import SHOP
from plugin.demo.runner import Demo, DemoOptions
from plugin.segments.preview import preview_query
from tests.browser.conftest import screenshot

TYPO = "number_of_orders >= 3 and total_spent > 100"
FIXED = "number_of_orders >= 3 and amount_spent > 100"
TAG = "seg:loyal-spenders"


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    """The demo on CDNOW's first 300 customers, running in a thread until the test ends."""
    run = Demo(DemoOptions(tmp_path / "demo", port=0, customers=300, pace=5), say=lambda _: None)
    thread = threading.Thread(target=run.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 240
    while run.ready_at is None:
        assert thread.is_alive(), "the demo stopped before it was ready"
        assert time.monotonic() < deadline, "the demo was not ready in 240 s"
        time.sleep(0.2)
    try:
        yield run
    finally:
        run.stop()
        thread.join(timeout=60)


def shop_tags(demo: Demo) -> set[str]:
    assert demo.simulator is not None
    return {t for c in demo.simulator.state.customers.all(SHOP) for t in c.tags}


def test_the_walk_through_on_the_demo_shop(page: Page, demo: Demo) -> None:
    page.goto(demo.admin_link())
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator('tr[data-slug="regular"]')).to_be_visible()
    screenshot(page, "demo-en-dashboard")

    page.get_by_role("link", name="New segment").first.click()
    page.get_by_label("Name").fill("Loyal spenders")
    page.get_by_label("Rule").fill(TYPO)
    expect(page.locator("#error-mark")).to_have_text("total_spent")
    page.get_by_role("button", name="amount_spent").click()  # did you mean
    expect(page.get_by_label("Rule")).to_have_value(FIXED)
    assert demo.runtime is not None
    with demo.runtime.sessions() as session:
        shop_id = demo._shop_id()
        expected = preview_query(session, shop_id, FIXED, utcnow()).count
    assert expected > 0
    expect(page.locator("#preview-count")).to_have_attribute("data-count", str(expected))
    expect(page.get_by_label("Push as a tag to the shop")).to_be_checked()
    screenshot(page, "demo-en-editor")
    assert TAG not in shop_tags(demo)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_have_text("Loyal spenders")

    # The app evaluates the new rule and pushes its tag through the outbox (every 2 s).
    deadline = time.monotonic() + 90
    while TAG not in shop_tags(demo):
        assert time.monotonic() < deadline, "the segment's tag never reached the shop"
        time.sleep(0.5)

    page.get_by_role("link", name="Dashboard").first.click()
    expect(page.locator('tr[data-slug="loyal-spenders"] th')).to_have_text("Loyal spenders")

    # A member's timeline: their CDNOW orders, and the segment they just entered.
    page.goto(f"{demo.app_url}/admin/segments/loyal-spenders")
    page.locator("tr[data-customer] a").first.click()
    expect(page.locator("#customer-name")).to_be_visible()
    expect(page.locator('#stays tr[data-segment="loyal-spenders"]')).to_be_visible()
    assert page.locator('#timeline-list li[data-kind="order"]').count() >= 3
    screenshot(page, "demo-en-customer")

    # A trigger setting survives a reload.
    page.get_by_role("link", name="Triggers").first.click()
    card = page.locator("#trigger-abandoned_checkout")
    card.get_by_label("Delays after the checkout is abandoned").fill("2h,24h")
    card.get_by_role("button", name="Save").click()
    expect(page.locator("#saved")).to_be_visible()
    page.reload()
    expect(page.locator("#abandoned_checkout-steps")).to_have_value("2h,24h")

    page.get_by_label("Language", exact=True).select_option("pl")
    page.get_by_role("button", name="Change").click()
    expect(page.locator("html")).to_have_attribute("lang", "pl")
    page.get_by_role("link", name="Pulpit").first.click()
    expect(page.locator("h1")).to_have_text("Pulpit")
    screenshot(page, "demo-pl-dashboard")
