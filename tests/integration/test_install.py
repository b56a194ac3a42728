"""Install by authorization code grant: /install → the shop's grant screen → /auth/callback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy import func, select

from admin_ui.auth import CALLBACK_PATH, STATE_COOKIE
from plugin import crypto
from plugin.app import create_app
from plugin.db import utcnow
from plugin.inbox.models import AWAITING_INSTALL, InboxRow
from plugin.manifest import access_scopes
from plugin.platforms.shopify.simulator import SimulatorHandle, sign_query
from plugin.profiles.shop_settings import set_setting
from plugin.runtime import Runtime
from plugin.shops.models import INSTALLED, OAuthState, Shop, ShopSetting

SHOP = "oauth-shop.myshopify.com"


@pytest.fixture
def client(sim_runtime: Runtime) -> Iterator[FlaskClient]:
    with create_app(sim_runtime).test_client() as test_client:
        yield test_client


def start(client: FlaskClient, shop: str = SHOP) -> str:
    """GET /install; returns the authorize URL it redirects to."""
    response = client.get("/install", query_string={"shop": shop})
    assert response.status_code == 302
    return response.headers["Location"]


def approve(authorize_url: str) -> str:
    """The merchant approves on the (simulated) shop: the callback path and query."""
    response = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert response.status_code == 302
    callback = urlsplit(response.headers["Location"])
    return f"{callback.path}?{callback.query}"


def state_of(authorize_url: str) -> str:
    return dict(parse_qsl(urlsplit(authorize_url).query))["state"]


def state_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(STATE_COOKIE, path=CALLBACK_PATH)
    assert cookie is not None
    return cookie.value


def shop_row(runtime: Runtime, domain: str = SHOP) -> Shop | None:
    with runtime.sessions() as session:
        return session.scalars(select(Shop).where(Shop.domain == domain)).one_or_none()


def test_install_redirects_to_the_grant_screen_with_a_stored_state(
    client: FlaskClient, sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    url = urlsplit(start(client))
    assert f"{url.scheme}://{url.netloc}{url.path}" == (
        simulator.shop_url(SHOP) + "/admin/oauth/authorize"
    )
    query = dict(parse_qsl(url.query))
    assert query["client_id"] == sim_runtime.settings.shopify_api_key
    assert query["scope"] == ",".join(access_scopes())
    assert query["redirect_uri"] == sim_runtime.settings.app_url + "/auth/callback"
    with sim_runtime.sessions() as session:
        state = session.get(OAuthState, query["state"])
    assert state is not None and state.shop_domain == SHOP and state.used_at is None


def test_full_code_grant_installs_the_shop(
    client: FlaskClient, sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    simulator.state.add_shop(SHOP, timezone="Europe/Berlin", currency="EUR")
    response = client.get(approve(start(client)))
    assert response.status_code == 302
    assert response.headers["Location"] == (
        f"{simulator.shop_url(SHOP)}/admin/apps/{sim_runtime.settings.shopify_api_key}"
    )
    exchange = simulator.state.requests_of("access_token", SHOP)
    assert len(exchange) == 1 and exchange[0].body["expiring"] == "1"
    issued = simulator.state.tokens[-1]
    shop = shop_row(sim_runtime)
    assert shop is not None
    assert (shop.install_state, shop.auth_method) == (INSTALLED, "oauth")
    assert (shop.timezone, shop.currency) == ("Europe/Berlin", "EUR")
    key = sim_runtime.settings.secret_key
    assert crypto.decrypt(key, shop.access_token_enc or "") == issued.access_token
    assert crypto.decrypt(key, shop.refresh_token_enc or "") == issued.refresh_token
    assert shop.access_token_expires_at is not None and shop.refresh_token_expires_at is not None
    assert 3500 < (shop.access_token_expires_at - utcnow()).total_seconds() <= 3600
    assert shop.installed_at is not None
    with sim_runtime.sessions() as session:
        settings = {
            s.key: s.value
            for s in session.scalars(select(ShopSetting).where(ShopSetting.shop_id == shop.id))
        }
    # The defaults, and the stamp of the first evaluation that followed the install.
    assert settings.pop("category_fans_refreshed_at")["value"] > shop.installed_at.isoformat()
    swept = settings.pop("segments_last_sweep")["value"]  # what the next sweep compares
    assert swept["at"] > shop.installed_at.isoformat()
    assert (swept["timezone"], swept["currency"], swept["fit"]) == ("Europe/Berlin", "EUR", None)
    # The plan read with the shop's details: no subscription yet, the free plan, within it.
    plan = settings.pop("billing.plan")["value"]
    assert (plan["name"], plan["status"], plan["subscription_id"]) == (None, "NONE", None)
    assert settings.pop("billing.over_limit") == {"value": None}
    assert settings == {
        "abandoned_after_hours": {"value": 10},
        "link_guest_orders_by_email": {"value": False},
    }


def test_callback_with_reused_state_is_rejected(
    client: FlaskClient, sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    authorize_url = start(client)
    cookie = state_cookie(client)
    assert client.get(approve(authorize_url)).status_code == 302
    # The same state again, on a freshly signed callback with a new code: the callback
    # cleared the browser's cookie, and with the cookie put back the state is used up.
    replay = client.get(approve(authorize_url))
    assert (replay.status_code, replay.get_json()["error"]) == (403, "forbidden")
    client.set_cookie(STATE_COOKIE, cookie, path=CALLBACK_PATH)
    replay = client.get(approve(authorize_url))
    assert (replay.status_code, replay.get_json()["error"]) == (401, "unauthorized")
    assert len(simulator.state.requests_of("access_token", SHOP)) == 1


def test_tampered_hmac_is_rejected_and_nothing_installed(
    client: FlaskClient, sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    path, query = approve(start(client)).split("?", 1)
    params = dict(parse_qsl(query))
    params["hmac"] = params["hmac"][:-1] + ("0" if params["hmac"][-1] != "0" else "1")
    response = client.get(f"{path}?{urlencode(params)}")
    assert response.status_code == 401
    assert shop_row(sim_runtime) is None
    assert simulator.state.requests_of("access_token") == []


def signed_callback(client: FlaskClient, settings_secret: str, **overrides: str) -> str:
    """A callback query signed with the app secret, with `overrides`; without a `state`
    override, a fresh valid nonce from /install (whose cookie the client then holds)."""
    state = overrides.pop("state", None) or state_of(start(client))
    params = {
        "code": "whatever",
        "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvb2F1dGgtc2hvcA==",
        "shop": SHOP,
        "state": state,
        "timestamp": str(int(time.time())),
        **overrides,
    }
    return "/auth/callback?" + urlencode(sign_query(params, settings_secret))


def test_timestamp_91_seconds_old_is_rejected(
    client: FlaskClient, sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    secret = sim_runtime.settings.shopify_api_secret
    old = signed_callback(client, secret, timestamp=str(int(time.time()) - 91))
    response = client.get(old)
    assert response.status_code == 401 and "timestamp" in response.get_json()["detail"]
    assert simulator.state.requests_of("access_token") == []


@pytest.mark.parametrize("evil", ["evil.com", "x.myshopify.com.evil.com"])
def test_foreign_shop_domains_are_rejected(
    client: FlaskClient, sim_runtime: Runtime, simulator: SimulatorHandle, evil: str
) -> None:
    assert client.get("/install", query_string={"shop": evil}).status_code == 400
    forged = signed_callback(client, sim_runtime.settings.shopify_api_secret, shop=evil)
    assert client.get(forged).status_code == 400
    assert simulator.state.requests == []
    assert shop_row(sim_runtime, evil) is None


def test_state_issued_for_another_shop_is_rejected(
    client: FlaskClient, sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    secret = sim_runtime.settings.shopify_api_secret
    state = state_of(start(client, "other.myshopify.com"))  # this browser holds its cookie
    response = client.get(signed_callback(client, secret, state=state))
    assert response.status_code == 401


def test_insufficient_scopes_are_refused(
    client: FlaskClient, sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    simulator.state.switches.granted_scopes = ["read_orders", "write_customers"]
    response = client.get(approve(start(client)))
    assert response.status_code == 401
    assert "read_all_orders" in response.get_json()["detail"]
    assert shop_row(sim_runtime) is None


def test_reinstall_keeps_the_merchants_settings_and_releases_early_webhooks(
    client: FlaskClient, sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    client.get(approve(start(client)))
    shop = shop_row(sim_runtime)
    assert shop is not None
    with sim_runtime.sessions.begin() as session:
        set_setting(session, shop.id, "abandoned_after_hours", 36)
        session.add(awaiting_row("wh-1"))
    client.get(approve(start(client)))
    with sim_runtime.sessions() as session:
        assert session.get(ShopSetting, (shop.id, "abandoned_after_hours")).value == {"value": 36}  # type: ignore[union-attr]
        waiting = session.scalar(
            select(func.count()).select_from(InboxRow).where(InboxRow.status == AWAITING_INSTALL)
        )
    assert waiting == 0
    assert len(simulator.state.requests_of("access_token", SHOP)) == 2


def test_oauth_install_of_a_former_custom_app_shop_drops_its_webhook_secret(
    client: FlaskClient, sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    # Webhooks now come signed with the app's secret, not the old custom app's.
    with sim_runtime.sessions.begin() as session:
        key = sim_runtime.settings.secret_key
        session.add(
            Shop(
                domain=SHOP,
                auth_method="custom",
                webhook_secret_enc=crypto.encrypt(key, "custom-secret"),
            )
        )
    client.get(approve(start(client)))
    shop = shop_row(sim_runtime)
    assert shop is not None and shop.auth_method == "oauth"
    assert shop.webhook_secret_enc is None


def awaiting_row(webhook_id: str) -> InboxRow:
    return InboxRow(
        platform="shopify",
        shop_domain=SHOP,
        topic="customers/create",
        webhook_id=webhook_id,
        headers={},
        payload="{}",
        status=AWAITING_INSTALL,
    )
