"""The whole install over real HTTP, as a browser follows it: app ⇄ simulated shop."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.settings import Settings
from plugin.shops.models import INSTALLED
from plugin.shops.services import get_shop
from tests.support.live import LiveApp

SHOP = "live-shop.myshopify.com"


@pytest.fixture
def settings(settings: Settings, simulator: SimulatorHandle) -> Settings:
    """The live app reaches its shops at the simulator."""
    return replace(settings, shopify_base_url=simulator.base_url)


def test_browser_install_lands_on_the_embedded_admin(
    live_app: LiveApp, simulator: SimulatorHandle
) -> None:
    simulator.state.add_shop(SHOP, timezone="Australia/Sydney", currency="AUD")
    simulator.state.application_url = live_app.url + "/admin"
    browser = requests.Session()
    # /install → shop's grant screen → /auth/callback → shop admin → app's /admin?id_token=…
    page = browser.get(f"{live_app.url}/install", params={"shop": SHOP}, timeout=10)
    assert page.status_code == 200, page.text
    hops = [urlsplit(r.headers["Location"]).path for r in page.history]
    assert hops == [
        f"/{SHOP}/admin/oauth/authorize",
        "/auth/callback",
        f"/{SHOP}/admin/apps/{live_app.settings.shopify_api_key}",
        "/admin",
    ]
    # The admin tab's shell; its content loads with the session token (htmx adds it).
    id_token = dict(parse_qsl(urlsplit(page.url).query))["id_token"]
    content = browser.get(
        f"{live_app.url}/admin",
        params={"shop": SHOP},
        headers={"Authorization": f"Bearer {id_token}", "HX-Request": "true"},
        timeout=10,
    )
    assert content.status_code == 200 and 'id="segments"' in content.text
    assert page.headers["Content-Security-Policy"].startswith(f"frame-ancestors https://{SHOP} ")
    # The callback installed the shop; the admin load found the token and exchanged nothing.
    grants = [r.grant_type for r in simulator.state.requests_of("access_token", SHOP)]
    assert grants == ["authorization_code"]
    with live_app.runtime.sessions() as session:
        shop = get_shop(session, "shopify", SHOP)
    assert shop is not None and (shop.install_state, shop.auth_method) == (INSTALLED, "oauth")
