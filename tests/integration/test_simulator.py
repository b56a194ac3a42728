"""The simulated Shopify behaves like the real one where the app depends on it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import parse_qsl, urlsplit

import requests

from plugin.platforms.shopify.oauth import verify_query
from plugin.platforms.shopify.simulator import SimulatorHandle, send_webhook
from tests.conftest import TEST_API_KEY, TEST_API_SECRET

SHOP = "sim-shop.myshopify.com"


def authorize(simulator: SimulatorHandle, **extra: str) -> dict[str, str]:
    params = {
        "client_id": TEST_API_KEY,
        "scope": "read_orders,write_customers,read_customers",
        "redirect_uri": "http://app.test/auth/callback",
        "state": "nonce-1",
        **extra,
    }
    url = simulator.shop_url(SHOP) + "/admin/oauth/authorize"
    response = requests.get(url, params=params, allow_redirects=False, timeout=5)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == params["redirect_uri"]
    return dict(parse_qsl(location.query))


def access_token(simulator: SimulatorHandle, **body: str) -> requests.Response:
    body = {"client_id": TEST_API_KEY, "client_secret": TEST_API_SECRET, **body}
    url = simulator.shop_url(SHOP) + "/admin/oauth/access_token"
    return requests.post(url, json=body, timeout=5)


def graphql(simulator: SimulatorHandle, token: str | None, query: str) -> requests.Response:
    url = simulator.shop_url(SHOP) + "/admin/api/2026-10/graphql.json"
    headers = {"X-Shopify-Access-Token": token} if token else {}
    return requests.post(url, json={"query": query}, headers=headers, timeout=5)


def test_authorize_redirects_with_a_query_signed_like_shopify(simulator: SimulatorHandle) -> None:
    query = authorize(simulator)
    verify_query(query, [TEST_API_SECRET], now=time.time())
    assert (query["shop"], query["state"]) == (SHOP, "nonce-1")
    assert base64.b64decode(query["host"]) == b"admin.shopify.com/store/sim-shop"


def test_code_is_single_use_and_grants_collapsed_scopes(simulator: SimulatorHandle) -> None:
    code = authorize(simulator)["code"]
    first = access_token(simulator, code=code, expiring="1")
    assert first.status_code == 200
    # Shopify leaves out read_customers: write_customers implies it.
    assert first.json()["scope"] == "read_orders,write_customers"
    assert first.json()["expires_in"] == 3600
    assert first.json()["refresh_token_expires_in"] == 7776000
    assert access_token(simulator, code=code, expiring="1").status_code == 400


def test_wrong_client_secret_is_refused(simulator: SimulatorHandle) -> None:
    code = authorize(simulator)["code"]
    assert access_token(simulator, code=code, client_secret="nope").status_code == 401


def test_refresh_rotates_the_pair_and_retires_the_old_refresh_token(
    simulator: SimulatorHandle,
) -> None:
    granted = access_token(simulator, code=authorize(simulator)["code"], expiring="1").json()
    refreshed = access_token(
        simulator, grant_type="refresh_token", refresh_token=granted["refresh_token"]
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != granted["refresh_token"]
    again = access_token(
        simulator, grant_type="refresh_token", refresh_token=granted["refresh_token"]
    )
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_non_expiring_grant_has_no_refresh_token(simulator: SimulatorHandle) -> None:
    granted = access_token(simulator, code=authorize(simulator)["code"]).json()
    assert "refresh_token" not in granted and "expires_in" not in granted


def test_graphql_needs_a_valid_unexpired_token(simulator: SimulatorHandle) -> None:
    token = simulator.state.issue_custom_token(SHOP)
    assert graphql(simulator, None, "{ shop { ianaTimezone } }").status_code == 401
    assert graphql(simulator, "shpat_wrong", "{ shop { ianaTimezone } }").status_code == 401
    assert graphql(simulator, token, "{ shop { ianaTimezone } }").status_code == 200
    simulator.state.expire_access_token(token)
    assert graphql(simulator, token, "{ shop { ianaTimezone } }").status_code == 401
    other = simulator.state.issue_custom_token(SHOP)
    simulator.state.uninstall(SHOP)
    assert graphql(simulator, other, "{ shop { ianaTimezone } }").status_code == 401


def test_graphql_answers_shop_and_refuses_invalid_or_deprecated_documents(
    simulator: SimulatorHandle,
) -> None:
    simulator.state.add_shop(SHOP, timezone="Europe/Vienna", currency="EUR")
    token = simulator.state.issue_custom_token(SHOP)
    answer = graphql(simulator, token, "{ shop { ianaTimezone currencyCode } }").json()
    assert answer["data"]["shop"] == {"ianaTimezone": "Europe/Vienna", "currencyCode": "EUR"}
    assert "errors" in graphql(simulator, token, "{ shop { nope } }").json()
    deprecated = (
        "mutation { webhookSubscriptionCreate(topic: ORDERS_CREATE, webhookSubscription: "
        '{callbackUrl: "https://a.example"}) { userErrors { message } } }'
    )
    refused = graphql(simulator, token, deprecated).json()
    assert "deprecated" in refused["errors"][0]["message"]
    assert simulator.state.subscriptions == {}


def test_token_exchange_verifies_the_session_token(simulator: SimulatorHandle) -> None:
    def exchange(subject: str) -> requests.Response:
        return access_token(
            simulator,
            grant_type="urn:ietf:params:oauth:grant-type:token-exchange",
            subject_token=subject,
            subject_token_type="urn:ietf:params:oauth:token-type:id_token",
            requested_token_type="urn:shopify:params:oauth:token-type:offline-access-token",
            expiring="1",
        )

    assert exchange(simulator.mint_session_token(SHOP)).status_code == 200
    other_shop = exchange(simulator.mint_session_token("other.myshopify.com"))
    assert other_shop.json()["error"] == "invalid_subject_token"
    expired = exchange(simulator.mint_session_token(SHOP, now=time.time() - 600))
    assert expired.json()["error"] == "invalid_subject_token"


def test_send_webhook_signs_the_raw_body(simulator: SimulatorHandle) -> None:
    received: dict[str, object] = {}

    class Capture(requests.adapters.BaseAdapter):
        def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
            received.update(headers=dict(request.headers), body=request.body)
            response = requests.Response()
            response.status_code = 200
            return response

    http = requests.Session()
    http.mount("http://capture/", Capture())
    send_webhook("http://capture/hook", SHOP, "orders/create", {"id": 1}, "s3cret", http=http)
    headers, body = received["headers"], received["body"]
    assert isinstance(headers, dict) and isinstance(body, bytes)
    digest = base64.b64encode(hmac.new(b"s3cret", body, hashlib.sha256).digest()).decode()
    assert headers["X-Shopify-Hmac-Sha256"] == digest
    assert (headers["X-Shopify-Topic"], headers["X-Shopify-Shop-Domain"]) == (
        "orders/create",
        SHOP,
    )
    assert headers["X-Shopify-Webhook-Id"] and headers["X-Shopify-Triggered-At"]
