"""The code grant's `state` is bound to the browser and its table is bounded (issue 9, defect 5),
and `/install` refuses an invalid shop domain before touching the database (defect 2)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy import func, select

from admin_ui.auth import CALLBACK_PATH, STATE_COOKIE
from plugin.app import create_app
from plugin.db import utcnow
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.runtime import Runtime, build_runtime
from plugin.scheduler import default_jobs, run_job
from plugin.settings import Settings
from plugin.shops import oauth_states
from plugin.shops.models import OAuthState
from tests.integration.test_install import SHOP, approve, shop_row, start, state_cookie, state_of
from tests.support.live import LiveApp


@pytest.fixture
def settings(settings: Settings, simulator: SimulatorHandle) -> Settings:
    """The live app (real HTTP) reaches its shops at the simulator too."""
    return replace(settings, shopify_base_url=simulator.base_url)


@pytest.fixture
def client(sim_runtime: Runtime) -> Iterator[FlaskClient]:
    with create_app(sim_runtime).test_client() as test_client:
        yield test_client


@pytest.fixture
def other_browser(sim_runtime: Runtime) -> FlaskClient:
    # Not a `with` client: two of those would interleave their preserved contexts.
    return create_app(sim_runtime).test_client()


def pending_states(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(OAuthState)) or 0)


def test_install_sets_a_signed_http_only_lax_cookie_for_the_callback(client: FlaskClient) -> None:
    response = client.get("/install", query_string={"shop": SHOP})
    header = response.headers["Set-Cookie"]
    assert header.startswith(f"{STATE_COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=Lax", f"Path={CALLBACK_PATH}", "Max-Age=600"):
        assert attribute in header
    assert "Secure" not in header  # plain http on loopback: development only
    value = state_cookie(client)
    assert state_of(response.headers["Location"]) not in value  # the hash, not the state


def test_cookie_is_secure_when_the_app_is_not_plain_http_on_loopback(
    sim_settings: Settings, simulator: SimulatorHandle
) -> None:
    runtime = build_runtime(replace(sim_settings, app_url="https://segments.example.com"))
    try:
        with create_app(runtime).test_client() as https_client:
            response = https_client.get("/install", query_string={"shop": SHOP})
        assert "Secure" in response.headers["Set-Cookie"]
    finally:
        runtime.close()


def test_state_from_one_browser_is_refused_in_another(
    client: FlaskClient,
    other_browser: FlaskClient,
    sim_runtime: Runtime,
    simulator: SimulatorHandle,
) -> None:
    callback = approve(start(client))
    stolen = other_browser.get(callback)  # no cookie at all
    assert stolen.status_code == 403
    assert stolen.get_json()["error"] == "forbidden" and "browser" in stolen.get_json()["detail"]
    start(other_browser)  # a cookie of its own, for another state
    assert other_browser.get(callback).status_code == 403
    assert simulator.state.requests_of("access_token") == []
    assert shop_row(sim_runtime) is None
    # The refusals did not use the state up: the browser it was issued to still installs.
    assert client.get(callback).status_code == 302
    assert shop_row(sim_runtime) is not None


def test_a_forged_cookie_is_refused(client: FlaskClient, simulator: SimulatorHandle) -> None:
    authorize_url = start(client)
    binding = oauth_states.state_binding(state_of(authorize_url))
    client.set_cookie(STATE_COOKIE, binding, path=CALLBACK_PATH)  # right hash, no signature
    assert client.get(approve(authorize_url)).status_code == 403
    assert simulator.state.requests_of("access_token") == []


def test_pending_states_per_shop_are_capped(client: FlaskClient, sim_runtime: Runtime) -> None:
    for _ in range(oauth_states.MAX_PENDING_PER_SHOP):
        start(client)
    refused = client.get("/install", query_string={"shop": SHOP})
    body = refused.get_json()
    assert refused.status_code == 429
    assert body["error"] == "too_many_requests" and SHOP in body["detail"]
    assert pending_states(sim_runtime) == oauth_states.MAX_PENDING_PER_SHOP
    start(client, "another-shop.myshopify.com")  # other shops are not held up


def test_pending_states_per_client_address_are_capped(
    client: FlaskClient, sim_runtime: Runtime
) -> None:
    for n in range(oauth_states.MAX_PENDING_PER_CLIENT):
        start(client, f"shop-{n}.myshopify.com")
    refused = client.get("/install", query_string={"shop": "one-more.myshopify.com"})
    assert refused.status_code == 429 and "address" in refused.get_json()["detail"]
    elsewhere = client.get(
        "/install",
        query_string={"shop": "one-more.myshopify.com"},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert elsewhere.status_code == 302
    with sim_runtime.sessions() as session:
        keys = set(session.scalars(select(OAuthState.client_key)))
    assert len(keys) == 2 and "192.0.2.7" not in keys and "127.0.0.1" not in keys


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(
    sim_settings: Settings, simulator: SimulatorHandle
) -> None:
    runtime = build_runtime(replace(sim_settings, trusted_proxies=1))
    try:
        with create_app(runtime).test_client() as proxied:
            for n in range(oauth_states.MAX_PENDING_PER_CLIENT + 1):
                response = proxied.get(
                    "/install",
                    query_string={"shop": f"shop-{n}.myshopify.com"},
                    headers={"X-Forwarded-For": f"198.51.100.{n}"},
                )
                assert response.status_code == 302
    finally:
        runtime.close()


def test_expired_and_used_states_are_purged(
    client: FlaskClient, sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    assert client.get(approve(start(client))).status_code == 302  # one used state
    old = utcnow() - oauth_states.OAUTH_STATE_TTL - timedelta(seconds=1)
    with sim_runtime.sessions.begin() as session:
        for n in range(oauth_states.MAX_PENDING_PER_SHOP):
            session.add(OAuthState(nonce=f"old-{n}", shop_domain=SHOP, created_at=old))
    start(client)  # the expired ones no longer count against the cap, and are gone
    assert pending_states(sim_runtime) == 1
    with sim_runtime.sessions.begin() as session:
        session.add(OAuthState(nonce="stale", shop_domain=SHOP, created_at=old))
    [job] = [j for j in default_jobs() if j.name == "shops.oauth_states"]
    assert run_job(sim_runtime, job)  # the scheduler sweeps without any install
    with sim_runtime.sessions() as session:
        assert session.get(OAuthState, "stale") is None
    assert pending_states(sim_runtime) == 1


@pytest.mark.parametrize(
    "shop",
    ["a" * 288 + ".myshopify.com", "b" * 64 + ".myshopify.com", "shop\x00.myshopify.com", ""],
)
def test_invalid_shop_domain_is_a_400_before_the_database(
    client: FlaskClient, sim_runtime: Runtime, shop: str
) -> None:
    response = client.get("/install", query_string={"shop": shop})
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_input" and len(body["detail"]) < 200
    assert pending_states(sim_runtime) == 0


def test_longest_valid_shop_name_installs(client: FlaskClient, sim_runtime: Runtime) -> None:
    start(client, "c" * 63 + ".myshopify.com")
    assert pending_states(sim_runtime) == 1


def test_over_real_http_only_the_browser_holding_the_cookie_completes(
    live_app: LiveApp, simulator: SimulatorHandle
) -> None:
    browser, other = requests.Session(), requests.Session()
    first = browser.get(
        f"{live_app.url}/install", params={"shop": SHOP}, allow_redirects=False, timeout=10
    )
    callback = live_app.url + approve(first.headers["Location"])
    refused = other.get(callback, allow_redirects=False, timeout=10)
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    assert browser.get(callback, allow_redirects=False, timeout=10).status_code == 302
