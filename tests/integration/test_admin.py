"""The embedded admin: session-token auth, managed install by token exchange on first load."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from plugin import crypto
from plugin.app import create_app
from plugin.platforms.shopify.simulator import SimulatorHandle, host_param, mint_session_token
from plugin.runtime import Runtime, build_runtime
from plugin.settings import Settings
from plugin.shops.models import INSTALLED, NEEDS_REAUTH, Shop

SHOP = "admin-shop.myshopify.com"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


@pytest.fixture
def client(sim_runtime: Runtime) -> Iterator[FlaskClient]:
    with create_app(sim_runtime).test_client() as test_client:
        yield test_client


def first_load(client: FlaskClient, id_token: str, shop: str = SHOP):  # type: ignore[no-untyped-def]
    query = {"embedded": "1", "host": host_param(shop), "id_token": id_token, "shop": shop}
    return client.get("/admin", query_string=query)


def content_load(client: FlaskClient, id_token: str, shop: str = SHOP):  # type: ignore[no-untyped-def]
    """What the shell's htmx request asks: the page's content, with the session token."""
    query = {"embedded": "1", "host": host_param(shop), "shop": shop}
    headers = {"Authorization": f"Bearer {id_token}", "HX-Request": "true"}
    return client.get("/admin", query_string=query, headers=headers)


def exchanges(simulator: SimulatorHandle) -> list:  # type: ignore[type-arg]
    return simulator.state.requests_of("access_token", SHOP, grant_type=TOKEN_EXCHANGE)


def shop_row(runtime: Runtime) -> Shop | None:
    with runtime.sessions() as session:
        return session.scalars(select(Shop).where(Shop.domain == SHOP)).one_or_none()


def test_first_admin_load_renders_the_shell_then_installs_by_token_exchange(
    client: FlaskClient, sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    simulator.state.add_shop(SHOP, timezone="Asia/Tokyo", currency="JPY")
    id_token = simulator.mint_session_token(SHOP)
    response = first_load(client, id_token)
    assert (response.status_code, response.mimetype) == (200, "text/html")
    body = response.get_data(as_text=True)
    key = sim_runtime.settings.shopify_api_key
    head = body.split("<head>", 1)[1].lstrip()
    # The API key meta tag, then App Bridge, first in <head> (Shopify's requirement).
    assert head.startswith(
        f'<meta name="shopify-api-key" content="{key}">\n'
        '  <script src="https://cdn.shopify.com/shopifycloud/app-bridge.js"></script>'
    )
    assert response.headers["Content-Security-Policy"] == (
        f"frame-ancestors https://{SHOP} https://admin.shopify.com;"
    )
    # The shell paints at once: no exchange yet, its content comes by htmx without id_token.
    assert exchanges(simulator) == [] and shop_row(sim_runtime) is None
    assert 'hx-trigger="load"' in body and "id_token" not in body.split('hx-get="', 1)[1][:300]
    content = content_load(client, id_token)
    assert content.status_code == 200
    assert "<html" not in content.get_data(as_text=True)
    assert 'id="segments"' in content.get_data(as_text=True)
    [exchange] = exchanges(simulator)
    assert exchange.body["subject_token"] == id_token
    assert exchange.body["subject_token_type"] == "urn:ietf:params:oauth:token-type:id_token"
    assert exchange.body["requested_token_type"] == (
        "urn:shopify:params:oauth:token-type:offline-access-token"
    )
    assert exchange.body["expiring"] == "1"
    shop = shop_row(sim_runtime)
    assert shop is not None
    assert (shop.install_state, shop.auth_method, shop.currency) == (INSTALLED, "managed", "JPY")
    issued = simulator.state.tokens[-1]
    secret_key = sim_runtime.settings.secret_key
    assert crypto.decrypt(secret_key, shop.access_token_enc or "") == issued.access_token


def test_later_loads_reuse_the_stored_token(
    client: FlaskClient, simulator: SimulatorHandle
) -> None:
    assert content_load(client, simulator.mint_session_token(SHOP)).status_code == 200
    assert content_load(client, simulator.mint_session_token(SHOP)).status_code == 200
    assert len(exchanges(simulator)) == 1


def test_shop_needing_reauth_is_reinstalled_on_next_load(
    client: FlaskClient, sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    content_load(client, simulator.mint_session_token(SHOP))
    with sim_runtime.sessions.begin() as session:
        session.execute(
            update(Shop).values(install_state=NEEDS_REAUTH, reauth_reason="refresh refused")
        )
    assert content_load(client, simulator.mint_session_token(SHOP)).status_code == 200
    shop = shop_row(sim_runtime)
    assert shop is not None and (shop.install_state, shop.reauth_reason) == (INSTALLED, None)
    assert len(exchanges(simulator)) == 2


@pytest.mark.parametrize(
    "claims",
    [{"aud": "someone-else"}, {"now": time.time() - 300}],
    ids=["wrong-aud", "expired"],
)
def test_invalid_token_on_a_document_bounces_to_app_bridge(
    client: FlaskClient, sim_runtime: Runtime, simulator: SimulatorHandle, claims: dict
) -> None:  # type: ignore[type-arg]
    response = first_load(client, simulator.mint_session_token(SHOP, **claims))
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == "/auth/session-token"
    query = dict(parse_qsl(target.query))
    reload_to = urlsplit(query["shopify-reload"])
    assert reload_to.path == "/admin" and "id_token" not in dict(parse_qsl(reload_to.query))
    assert exchanges(simulator) == [] and shop_row(sim_runtime) is None
    bounce = client.get(response.headers["Location"])
    assert (bounce.status_code, bounce.mimetype) == (200, "text/html")
    assert "app-bridge.js" in bounce.get_data(as_text=True)


def test_no_token_and_no_shop_is_a_401_page(client: FlaskClient) -> None:
    response = client.get("/admin")
    assert (response.status_code, response.mimetype) == (401, "text/html")
    assert "Shopify admin" in response.get_data(as_text=True)


def test_token_signed_with_another_secret_on_xhr_asks_app_bridge_to_retry(
    client: FlaskClient, simulator: SimulatorHandle
) -> None:
    forged = mint_session_token(SHOP, simulator.state.api_key, "shpss_" + "f0rg3d" * 6)
    response = client.get("/api/shop", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert response.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"
    assert response.get_json()["error"] == "unauthorized"
    assert exchanges(simulator) == []


def test_xhr_with_a_valid_token_gets_the_shop(
    client: FlaskClient, simulator: SimulatorHandle
) -> None:
    simulator.state.add_shop(SHOP, timezone="Europe/Paris", currency="EUR")
    token = simulator.mint_session_token(SHOP)
    response = client.get("/api/shop", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    data = response.get_json()
    assert (data["domain"], data["install_state"], data["currency"]) == (SHOP, INSTALLED, "EUR")
    assert isinstance(data["id"], str)


def test_exchange_refused_by_the_shop_is_unauthenticated(
    sim_settings: Settings, simulator: SimulatorHandle
) -> None:
    # The app still accepts the previous secret; the shop no longer does and refuses the
    # exchange with invalid_subject_token: App Bridge must fetch a fresh token.
    old = "shpss_" + "0ld5ecret" * 4
    runtime = build_runtime(replace(sim_settings, shopify_api_secret_previous=old))
    try:
        token = mint_session_token(SHOP, simulator.state.api_key, old)
        with create_app(runtime).test_client() as client:
            response = client.get("/api/shop", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"
        assert [r.status for r in exchanges(simulator)] == [400]
        assert shop_row(runtime) is None
    finally:
        runtime.close()


def test_the_admin_locale_shopify_opens_the_app_with_is_kept_for_later_requests(
    client: FlaskClient, simulator: SimulatorHandle
) -> None:
    def load(locale: str | None) -> str:
        query = {"embedded": "1", "host": host_param(SHOP), "shop": SHOP}
        if locale:
            query["locale"] = locale
        headers = {
            "Authorization": f"Bearer {simulator.mint_session_token(SHOP)}",
            "HX-Request": "true",
            "Accept-Language": "en",
        }
        return client.get("/admin", query_string=query, headers=headers).get_data(as_text=True)

    assert "New segment" in load(None)
    polish = load("pl-PL")
    assert "Nowy segment" in polish  # Shopify's admin is in Polish for this merchant
    assert "Nowy segment" in load(None)  # kept: htmx requests carry no locale
    assert "New segment" in load("en")  # the admin switched back to English
