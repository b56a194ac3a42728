"""The Plan page and /api/plan: the plan in force, customers against its limit (a banner
when over), the listing's plans, the link to Shopify's hosted plan page; in both languages;
a custom-app shop is billed outside Shopify and sees no link."""

from __future__ import annotations

from dataclasses import replace
from html import unescape

from flask.testing import FlaskClient
from sqlalchemy import insert

from admin_ui.i18n import LANGUAGE_SETTING
from plugin.app import create_app
from plugin.billing.services import Subscription, record_subscription, refresh_limits
from plugin.db import utcnow
from plugin.profiles.models import Customer
from plugin.profiles.shop_settings import set_setting
from plugin.runtime import Runtime, build_runtime
from plugin.shops.models import Shop
from tests.support.admin import SeededShop, sign_in

REAL_PAGE = "https://admin.shopify.com/store/alpha/charges/shop-segments/pricing_plans"


def billed(shop: SeededShop, auth_method: str = "oauth", plan: str | None = None) -> None:
    with shop.runtime.sessions.begin() as session:
        row = session.get(Shop, shop.shop_id)
        assert row is not None
        row.auth_method = auth_method
        if plan is not None:
            sub = Subscription("gid://shopify/AppSubscription/1", plan, "ACTIVE", utcnow())
            record_subscription(session, row, sub, utcnow())


def over_free_limit(shop: SeededShop) -> None:
    rows = [{"shop_id": shop.shop_id, "platform_id": str(900_000 + n)} for n in range(1_000)]
    with shop.runtime.sessions.begin() as session:
        session.execute(insert(Customer), rows)
    refresh_limits(shop.runtime, [shop.shop_id], utcnow())


def page(client: FlaskClient, shop: SeededShop, language: str = "en") -> str:
    with shop.runtime.sessions.begin() as session:
        set_setting(session, shop.shop_id, LANGUAGE_SETTING, language)
    sign_in(client, shop.runtime, shop.shop_id)
    response = client.get("/admin/plan")
    assert response.status_code == 200
    return unescape(response.get_data(as_text=True))


def test_the_plan_page_shows_the_plan_and_links_to_shopifys_plan_page(
    admin_client: FlaskClient, admin_shop: SeededShop
) -> None:
    billed(admin_shop)
    html = page(admin_client, admin_shop)
    assert '<p class="preview-count" id="plan-name">Free</p>' in html
    assert '<p class="preview-count" id="plan-customers">30</p>' in html
    assert "of 1,000 on this plan" in html
    assert f'href="{REAL_PAGE}" target="_top"' in html
    assert 'id="plan-over"' not in html
    for name, price, reach in (
        ("Free", "$0.00", "up to 1,000"),
        ("Growth", "$29.00", "up to 25,000"),
        ("Scale", "$99.00", "Unlimited"),
    ):
        assert f'<tr data-plan="{name}">' in html
        row = html.split(f'<tr data-plan="{name}">')[1].split("</tr>")[0]
        assert price in row and reach in row
    assert ("Current plan" in row) is False  # Scale is not the shop's plan


def test_over_the_limit_the_page_says_what_is_paused_in_english_and_polish(
    admin_client: FlaskClient, admin_shop: SeededShop
) -> None:
    billed(admin_shop)
    over_free_limit(admin_shop)
    html = page(admin_client, admin_shop)
    assert "Your shop has 1,030 customers; the Free plan allows 1,000." in html
    assert "New tags and triggers are paused" in html
    polish = page(admin_client, admin_shop, "pl")
    assert "<h1>Plan</h1>" in polish
    assert "Twój sklep ma 1\xa0030 klientów; plan Free pozwala na 1\xa0000." in polish
    assert ">Wybierz plan</a>" in polish
    assert ">Obecny plan<" in polish


def test_a_paid_plan_lifts_the_banner(admin_client: FlaskClient, admin_shop: SeededShop) -> None:
    billed(admin_shop)
    over_free_limit(admin_shop)
    billed(admin_shop, plan="Growth")
    html = page(admin_client, admin_shop)
    assert 'id="plan-over"' not in html
    assert '<p class="preview-count" id="plan-name">Growth</p>' in html
    assert "of 25,000 on this plan" in html


def test_a_custom_app_shop_is_billed_outside_shopify(
    admin_client: FlaskClient, admin_shop: SeededShop
) -> None:
    billed(admin_shop, "custom")
    over_free_limit(admin_shop)
    html = page(admin_client, admin_shop)
    assert "This shop is billed outside Shopify: no limits apply." in html
    assert 'id="choose-plan"' not in html and "pricing_plans" not in html
    assert 'id="plan-over"' not in html
    polish = page(admin_client, admin_shop, "pl")
    assert "Ten sklep jest rozliczany poza Shopify" in polish


def test_the_api_answers_the_plan(admin_client: FlaskClient, admin_shop: SeededShop) -> None:
    billed(admin_shop, plan="Growth")
    sign_in(admin_client, admin_shop.runtime, admin_shop.shop_id)
    data = admin_client.get("/api/plan").get_json()
    assert data == {
        "billed_by_shopify": True,
        "plan": "Growth",
        "status": "ACTIVE",
        "customers": 30,
        "customer_limit": 25_000,
        "over_limit": False,
        "currency": "USD",
        "plans": [
            {"name": "Free", "price_minor": 0, "customer_limit": 1_000, "current": False},
            {"name": "Growth", "price_minor": 2900, "customer_limit": 25_000, "current": True},
            {"name": "Scale", "price_minor": 9900, "customer_limit": None, "current": False},
        ],
        "choose_url": REAL_PAGE,
    }


def test_against_a_simulator_the_link_opens_the_simulators_plan_page(
    runtime: Runtime, admin_shop: SeededShop
) -> None:
    settings = replace(runtime.settings, shopify_base_url="http://127.0.0.1:9/{shop}")
    billed(admin_shop)
    simulated = build_runtime(settings)
    try:
        with create_app(simulated).test_client() as client:
            sign_in(client, simulated, admin_shop.shop_id)
            data = client.get("/api/plan").get_json()
    finally:
        simulated.close()
    expected = "http://127.0.0.1:9/alpha.myshopify.com/admin/charges/shop-segments/pricing_plans"
    assert data["choose_url"] == expected
