"""Every admin page in a real browser, in English and in Polish: each renders its own
heading in the chosen language and is saved as tests/artifacts/<page>-<lang>.png."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from plugin.shops.models import Shop
from tests.browser.conftest import ARTIFACTS, screenshot
from tests.browser.test_admin_browser import admin_link
from tests.support.admin import people, seed_shop
from tests.support.live import LiveApp

SLUG = "fans"
CUSTOMER = "1003"  # First3 Last3: three orders, a member of Fans
# page → (path, heading in English, heading in Polish, the heading's selector)
PAGES = {
    "dashboard": ("", "Dashboard", "Pulpit", "h1"),
    "editor": (f"/segments/{SLUG}/edit", "Edit segment", "Edytuj segment", "h1"),
    "segment": (f"/segments/{SLUG}", "Fans", "Fans", "h1"),
    "members": (f"/segments/{SLUG}", "Members", "Członkowie", "#members-heading"),
    "customer": (f"/customers/{CUSTOMER}", "First3 Last3", "First3 Last3", "h1"),
    "rfm": ("/rfm", "RFM", "RFM", "h1"),
    "triggers": ("/triggers", "Triggers", "Wyzwalacze", "h1"),
    "activity": ("/activity", "Activity", "Aktywność", "h1"),
    "settings": ("/settings", "Settings", "Ustawienia", "h1"),
    "plan": ("/plan", "Plan", "Plan", "h1"),
}


def visit_every_page(page: Page, base: str, lang: str) -> None:
    for name, (path, english, polish, heading) in PAGES.items():
        page.goto(f"{base}/admin{path}")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.locator(heading)).to_have_text(english if lang == "en" else polish)
        if name == "members":  # sorted by orders: the members list reloads on its own
            page.locator("#member-table thead a").nth(2).click()
            expect(page.locator("#member-table thead a[aria-sort]")).to_have_count(1)
            expect(page.locator(f'#member-table tr[data-customer="{CUSTOMER}"]')).to_be_visible()
            page.locator("#members").scroll_into_view_if_needed()
        screenshot(page, f"{name}-{lang}")


def test_every_admin_page_in_english_and_in_polish(page: Page, live_app: LiveApp) -> None:
    shop = seed_shop(live_app.runtime, "screens.myshopify.com", people(12),
                     segments={"Fans": "number_of_orders >= 2"})  # fmt: skip
    with live_app.runtime.sessions.begin() as session:
        row = session.get(Shop, shop.shop_id)
        assert row is not None
        row.auth_method = "oauth"  # installed from the listing: billed by Shopify, a Plan page
    shots = [ARTIFACTS / f"{name}-{lang}.png" for name in PAGES for lang in ("en", "pl")]
    for shot in shots:  # an earlier run's files prove nothing
        shot.unlink(missing_ok=True)
    page.goto(admin_link(live_app, shop))
    visit_every_page(page, live_app.url, "en")

    page.get_by_label("Language", exact=True).select_option("pl")
    page.get_by_role("button", name="Change").click()
    expect(page.locator("html")).to_have_attribute("lang", "pl")
    visit_every_page(page, live_app.url, "pl")

    assert [shot.name for shot in shots if not shot.is_file()] == []
