"""The admin tab in a real browser: sign in by admin link, build a segment from a typo to
a save, find it on the dashboard, switch to Polish; escaping; the session token on htmx."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlencode

from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from plugin import crypto
from plugin.db import utcnow
from plugin.platforms.shopify.simulator import host_param, mint_session_token
from plugin.profiles.models import Customer, CustomerTag
from plugin.segments.preview import preview_query
from plugin.shops.admin_links import issue_admin_link
from plugin.shops.models import Shop
from tests.browser.conftest import screenshot
from tests.conftest import TEST_API_KEY, TEST_API_SECRET
from tests.support.admin import SeededShop, people, seed_shop
from tests.support.live import LiveApp

TYPO = "number_of_ordrs >= 2 AND amount_spent >= 20"
FIXED = "number_of_orders >= 2 AND amount_spent >= 20"
WEB_VITALS = """() => new Promise((resolve) => {
  let lcp = 0, cls = 0;
  new PerformanceObserver((l) => { for (const e of l.getEntries()) lcp = e.startTime; })
    .observe({type: "largest-contentful-paint", buffered: true});
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) if (!e.hadRecentInput) cls += e.value;
  }).observe({type: "layout-shift", buffered: true});
  setTimeout(() => resolve({lcp, cls}), 300);
})"""


def admin_link(live_app: LiveApp, shop: SeededShop) -> str:
    with live_app.runtime.sessions.begin() as session:
        token = issue_admin_link(session, shop.shop_id, live_app.settings.secret_key, utcnow())
    return f"{live_app.url}/admin/login?token={token}"


def test_build_a_segment_from_a_typo_to_the_dashboard_then_in_polish(
    page: Page, live_app: LiveApp
) -> None:
    shop = seed_shop(live_app.runtime, "browser.myshopify.com", people(24))
    page.goto(admin_link(live_app, shop))
    expect(page.locator("h1")).to_have_text("Dashboard")
    vitals = page.evaluate(WEB_VITALS)
    assert vitals["lcp"] < 2500 and vitals["cls"] < 0.1, vitals
    screenshot(page, "en-dashboard")

    page.get_by_role("link", name="New segment").first.click()
    expect(page.locator("h1")).to_have_text("New segment")
    page.get_by_label("Name").fill("Browser fans")
    page.get_by_label("Rule").fill(TYPO)
    expect(page.locator("#error-mark")).to_have_text("number_of_ordrs")
    expect(page.locator("#query-error")).to_contain_text("column 1")
    screenshot(page, "en-editor-error")

    page.get_by_role("button", name="number_of_orders").click()  # did you mean
    expect(page.get_by_label("Rule")).to_have_value(FIXED)
    expect(page.locator("#preview-count")).to_be_visible()
    with live_app.runtime.sessions() as session:
        expected = preview_query(session, shop.shop_id, FIXED, utcnow()).count
    assert expected == 12
    expect(page.locator("#preview-count")).to_have_attribute("data-count", str(expected))
    expect(page.locator("#preview-sample tbody tr")).to_have_count(12)
    screenshot(page, "en-editor")

    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_have_text("Browser fans")
    expect(page).to_have_url(re.compile(r"/admin/segments/browser-fans$"))
    screenshot(page, "en-segment")

    page.get_by_role("link", name="Dashboard").first.click()
    expect(page.locator('tr[data-slug="browser-fans"] th')).to_have_text("Browser fans")

    page.get_by_label("Language").select_option("pl")
    page.get_by_role("button", name="Change").click()
    expect(page.locator("h1")).to_have_text("Pulpit")
    expect(page.locator("html")).to_have_attribute("lang", "pl")
    screenshot(page, "pl-dashboard")
    page.get_by_role("link", name="Nowy segment").first.click()
    expect(page.locator("h1")).to_have_text("Nowy segment")
    screenshot(page, "pl-editor")
    page.goto(f"{live_app.url}/admin/segments/browser-fans")
    expect(page.get_by_role("button", name="Wyłącz")).to_be_visible()
    screenshot(page, "pl-segment")


def test_a_customer_named_like_a_script_is_shown_not_run(page: Page, live_app: LiveApp) -> None:
    name = "<script>alert(1)</script>"
    shop = seed_shop(live_app.runtime, "xss.myshopify.com", [("9001", name, "Doe", 2)],
                     segments={"Fans": "number_of_orders >= 1"})  # fmt: skip
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(admin_link(live_app, shop))
    page.goto(f"{live_app.url}/admin/segments/fans")
    expect(page.locator('tr[data-customer="9001"] td').first).to_have_text(f"{name} Doe")
    page.goto(f"{live_app.url}/admin/segments/_new")
    page.get_by_label("Rule").fill("number_of_orders >= 1")
    expect(page.locator("#preview-sample tbody td").first).to_have_text(f"{name} Doe")
    assert dialogs == []


def test_htmx_requests_carry_the_session_token_when_embedded(page: Page, live_app: LiveApp) -> None:
    domain = "embedded.myshopify.com"
    shop = seed_shop(live_app.runtime, domain, people(8))
    with live_app.runtime.sessions.begin() as session:  # installed: no exchange needed
        token = crypto.encrypt(live_app.settings.secret_key, "shpat_embedded")
        session.execute(update(Shop).where(Shop.id == shop.shop_id).values(access_token_enc=token))
    id_token = mint_session_token(domain, TEST_API_KEY, TEST_API_SECRET)
    page.add_init_script(f"window.shopify = {{ idToken: async () => {id_token!r} }};")
    sent: list[dict[str, str]] = []
    page.on("request", lambda r: sent.append(r.headers) if "hx-request" in r.headers else None)
    query = {"embedded": "1", "shop": domain, "host": host_param(domain), "id_token": id_token}
    page.goto(f"{live_app.url}/admin?{urlencode(query)}")
    # App Bridge did not load (offline): the shell still paints, then htmx loads the content.
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("#segments")).to_be_visible()
    assert sent and all(h.get("authorization") == f"Bearer {id_token}" for h in sent)
    page.get_by_role("link", name="New segment").first.click()
    expect(page.locator("h1")).to_have_text("New segment")
    assert len(sent) >= 2 and all(h.get("authorization") == f"Bearer {id_token}" for h in sent)
    screenshot(page, "en-embedded-dashboard")


def test_an_expired_session_token_is_retried_once_with_a_fresh_one(
    page: Page, live_app: LiveApp
) -> None:
    """Shopify's 401 + X-Shopify-Retry-Invalid-Session-Request: ask App Bridge again."""
    domain = "retry.myshopify.com"
    shop = seed_shop(live_app.runtime, domain, people(3))
    with live_app.runtime.sessions.begin() as session:
        token = crypto.encrypt(live_app.settings.secret_key, "shpat_retry")
        session.execute(update(Shop).where(Shop.id == shop.shop_id).values(access_token_enc=token))
    fresh = mint_session_token(domain, TEST_API_KEY, TEST_API_SECRET)
    expired = mint_session_token(domain, TEST_API_KEY, TEST_API_SECRET, now=time.time() - 600)
    # The first token App Bridge hands out has expired; every later one is fresh.
    page.add_init_script(
        f"window.__tokens = [{expired!r}]; window.shopify = {{ idToken: async () => "
        f"window.__tokens.length ? window.__tokens.shift() : {fresh!r} }};"
    )
    answers: list[int] = []

    def answered(response: Any) -> None:
        if "/admin" in response.url and response.request.headers.get("hx-request"):
            answers.append(response.status)

    page.on("response", answered)
    query = {"embedded": "1", "shop": domain, "host": host_param(domain), "id_token": fresh}
    page.goto(f"{live_app.url}/admin?{urlencode(query)}")
    expect(page.locator("#segments")).to_be_visible()
    assert answers[:2] == [401, 200]


def test_change_a_trigger_setting_then_open_a_members_timeline(
    page: Page, live_app: LiveApp
) -> None:
    shop = seed_shop(live_app.runtime, "pages.myshopify.com", people(12),
                     segments={"Fans": "number_of_orders >= 2"})  # fmt: skip
    page.goto(admin_link(live_app, shop))
    page.get_by_role("link", name="Triggers").first.click()
    expect(page.locator("h1")).to_have_text("Triggers")
    card = page.locator("#trigger-abandoned_checkout")
    card.get_by_label("Delays after the checkout is abandoned").fill("24h,1h")
    card.get_by_role("button", name="Save").click()
    expect(page.locator("#abandoned_checkout-steps-error")).to_contain_text("longer than")
    screenshot(page, "en-triggers-error")
    card = page.locator("#trigger-abandoned_checkout")
    card.get_by_label("Delays after the checkout is abandoned").fill("1h,24h")
    card.get_by_role("button", name="Save").click()
    expect(page.locator("#saved")).to_be_visible()
    page.reload()
    expect(page.locator("#abandoned_checkout-steps")).to_have_value("1h,24h")
    screenshot(page, "en-triggers")

    page.goto(f"{live_app.url}/admin/segments/fans")
    page.locator('tr[data-customer="1003"] a').click()
    expect(page.locator("#customer-name")).to_have_text("First3 Last3")
    expect(page).to_have_url(re.compile(r"/admin/customers/1003$"))
    expect(page.locator('#timeline-list li[data-kind="order"]')).to_have_count(3)
    expect(page.locator('#stays tr[data-segment="fans"]')).to_be_visible()
    screenshot(page, "en-customer")
    for name in ("rfm", "activity", "settings"):
        page.get_by_role("link", name=name.capitalize() if name != "rfm" else "RFM").first.click()
        expect(page).to_have_url(re.compile(rf"/admin/{name}$"))
        screenshot(page, f"en-{name}")
    page.get_by_label("Language", exact=True).select_option("pl")
    page.get_by_role("button", name="Change").click()
    expect(page.locator("h1")).to_have_text("Ustawienia")
    for path in ("triggers", "rfm", "activity", "customers/1003"):
        page.goto(f"{live_app.url}/admin/{path}")
        expect(page.locator("html")).to_have_attribute("lang", "pl")
        screenshot(page, f"pl-{path.replace('/', '-')}")


def test_autocomplete_by_keyboard_and_mouse_down_to_the_shops_own_tags(
    page: Page, live_app: LiveApp
) -> None:
    shop = seed_shop(live_app.runtime, "complete.myshopify.com", people(8))
    with live_app.runtime.sessions.begin() as session:
        ids = session.scalars(
            select(Customer.id).where(Customer.shop_id == shop.shop_id).order_by(Customer.id)
        ).all()
        session.add_all(
            CustomerTag(shop_id=shop.shop_id, customer_id=cid, tag="vip", tag_cf="vip")
            for cid in ids[:3]
        )
    page.goto(admin_link(live_app, shop))
    page.get_by_role("link", name="New segment").first.click()
    rule = page.get_by_role("combobox", name="Rule")
    suggestions = page.get_by_role("listbox", name="Suggestions")

    rule.click()
    page.keyboard.type("number_of_or")
    expect(suggestions.get_by_role("option")).to_have_count(1)
    expect(suggestions.get_by_role("option")).to_contain_text("number_of_orders")
    page.keyboard.press("ArrowDown")
    expect(rule).to_have_attribute("aria-activedescendant", "query-suggestion-0")
    page.keyboard.press("Enter")
    expect(rule).to_have_value("number_of_orders ")
    expect(suggestions.get_by_role("option").first).to_contain_text("=")  # operators next
    page.keyboard.type(">= 0 AND customer_tags CONTAINS 'v")
    option = suggestions.get_by_role("option", name=re.compile("'vip'"))
    expect(option).to_contain_text("customers: 3")
    screenshot(page, "en-editor-autocomplete")
    option.click()
    expect(rule).to_have_value("number_of_orders >= 0 AND customer_tags CONTAINS 'vip' ")
    expect(page.locator("#preview-count")).to_have_attribute("data-count", "3")
    page.keyboard.press("Escape")
    expect(suggestions).to_be_hidden()
