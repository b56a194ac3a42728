"""The Shopify webhook receiver over real HTTP: verify, store once, answer fast."""

from __future__ import annotations

import json
import logging

import pytest

from plugin.inbox.models import AWAITING_INSTALL, DEAD, PENDING
from tests.support.live import LiveApp, sign

SHOP = "demo-shop.myshopify.com"
PAYLOAD = {"id": 706405506930370084, "email": "bob@example.com"}


def test_valid_delivery_is_stored_with_its_metadata(live_app: LiveApp) -> None:
    live_app.install_shop(SHOP)
    response = live_app.post_webhook(
        "customers/create",
        SHOP,
        PAYLOAD,
        webhook_id="wh-1",
        event_id="ev-1",
        api_version="2026-04",
        triggered_at="2026-05-01T10:00:00.123456789Z",
    )
    assert response.status_code == 200
    [row] = live_app.inbox_rows()
    assert (row.topic, row.shop_domain, row.webhook_id, row.event_id) == (
        "customers/create",
        SHOP,
        "wh-1",
        "ev-1",
    )
    assert row.api_version == "2026-04"
    assert row.triggered_at is not None and row.triggered_at.isoformat().startswith(
        "2026-05-01T10:00:00.123456"
    )
    assert row.status == PENDING
    assert json.loads(row.payload or "") == PAYLOAD  # big ids kept exactly
    assert row.headers["x-shopify-topic"] == "customers/create"
    assert "x-shopify-hmac-sha256" not in row.headers


def test_tampered_body_is_rejected_and_not_stored(live_app: LiveApp) -> None:
    body = json.dumps(PAYLOAD).encode()
    signature = sign(live_app.settings.shopify_api_secret, body)
    response = live_app.post_webhook(
        "customers/create",
        SHOP,
        body=body.replace(b"bob", b"eve"),
        headers={"X-Shopify-Hmac-Sha256": signature},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert live_app.inbox_rows() == []


def test_wrong_secret_is_rejected(live_app: LiveApp) -> None:
    response = live_app.post_webhook("customers/create", SHOP, PAYLOAD, secret="not-the-secret")
    assert response.status_code == 401
    assert set(response.json()) == {"error", "detail"}
    assert live_app.inbox_rows() == []


def test_missing_signature_is_rejected(live_app: LiveApp) -> None:
    response = live_app.post_webhook(
        "customers/redact", SHOP, PAYLOAD, headers={"X-Shopify-Hmac-Sha256": None}
    )
    assert response.status_code == 401
    assert live_app.inbox_rows() == []


def test_duplicate_delivery_is_stored_once(live_app: LiveApp) -> None:
    responses = [
        live_app.post_webhook("orders/create", SHOP, PAYLOAD, webhook_id="same") for _ in range(3)
    ]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert [r.json()["status"] for r in responses] == ["stored", "duplicate", "duplicate"]
    assert len(live_app.inbox_rows()) == 1


def test_same_webhook_id_from_another_shop_is_a_different_delivery(live_app: LiveApp) -> None:
    live_app.post_webhook("orders/create", SHOP, PAYLOAD, webhook_id="same")
    live_app.post_webhook("orders/create", "other.myshopify.com", PAYLOAD, webhook_id="same")
    assert len(live_app.inbox_rows()) == 2


def test_previous_secret_is_accepted_during_rotation(live_app: LiveApp) -> None:
    from dataclasses import replace

    live_app.runtime.settings = replace(
        live_app.settings, shopify_api_secret="new", shopify_api_secret_previous="old"
    )
    assert live_app.post_webhook("orders/create", SHOP, PAYLOAD, secret="old").status_code == 200
    assert live_app.post_webhook("orders/create", SHOP, PAYLOAD, secret="new").status_code == 200
    assert live_app.post_webhook("orders/create", SHOP, PAYLOAD, secret="x").status_code == 401
    assert len(live_app.inbox_rows()) == 2


def test_custom_app_shop_is_verified_with_its_own_secret(live_app: LiveApp) -> None:
    live_app.install_shop(SHOP, webhook_secret="merchant-secret")
    own = live_app.post_webhook("orders/create", SHOP, PAYLOAD, secret="merchant-secret")
    app_signed = live_app.post_webhook("orders/create", SHOP, PAYLOAD)
    assert (own.status_code, app_signed.status_code) == (200, 401)
    assert len(live_app.inbox_rows()) == 1


def test_body_over_five_megabytes_gets_json_413(live_app: LiveApp) -> None:
    body = b'{"x":"' + b"a" * (5 * 1024 * 1024) + b'"}'
    response = live_app.post_webhook("orders/create", SHOP, body=body)
    assert response.status_code == 413
    assert set(response.json()) == {"error", "detail"}
    assert live_app.inbox_rows() == []


def test_body_just_under_the_limit_is_accepted(live_app: LiveApp) -> None:
    body = b'{"x":"' + b"a" * (5 * 1024 * 1024 - 100) + b'"}'
    assert live_app.post_webhook("orders/create", SHOP, body=body).status_code == 200


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b"not json", "not JSON"), (b"[1, 2]", "not a JSON object"), (b"\xff\xfe", "not UTF-8")],
)
def test_signed_non_json_body_is_accepted_and_parked_as_dead(
    live_app: LiveApp, body: bytes, reason: str
) -> None:
    # Shopify would only send the same bytes again: a 4xx buys eight useless retries.
    live_app.install_shop(SHOP)
    response = live_app.post_webhook("orders/create", SHOP, body=body)
    assert response.status_code == 200
    live_app.drain()
    [row] = live_app.inbox_rows()
    assert (row.status, row.attempts <= 1) == (DEAD, True)
    assert reason in (row.last_error or "")


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Shopify-Topic": None},
        {"X-Shopify-Webhook-Id": None},
        {"X-Shopify-Shop-Domain": None},
        {"X-Shopify-Shop-Domain": "shop.myshopify.com.evil.com"},
    ],
)
def test_missing_or_bad_required_header_is_a_400(
    live_app: LiveApp, headers: dict[str, str | None]
) -> None:
    response = live_app.post_webhook("orders/create", SHOP, PAYLOAD, headers=headers)
    assert response.status_code == 400
    assert live_app.inbox_rows() == []


def test_delivery_for_a_shop_not_installed_yet_waits(live_app: LiveApp) -> None:
    assert live_app.post_webhook("orders/create", SHOP, PAYLOAD).status_code == 200
    [row] = live_app.inbox_rows()
    assert row.status == AWAITING_INSTALL


def test_unprefixed_event_headers_are_accepted(live_app: LiveApp) -> None:
    body = json.dumps(PAYLOAD).encode()
    headers = {
        "Content-Type": "application/json",
        "shopify-topic": "orders/create",
        "shopify-shop-domain": SHOP,
        "shopify-webhook-id": "evt-1",
        "shopify-hmac-sha256": sign(live_app.settings.shopify_api_secret, body),
    }
    response = live_app.http.post(live_app.url + "/webhooks/shopify", data=body, headers=headers)
    assert response.status_code == 200
    [row] = live_app.inbox_rows()
    assert (row.topic, row.webhook_id) == ("orders/create", "evt-1")


def test_logs_carry_neither_payloads_nor_secrets(
    live_app: LiveApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    live_app.install_shop(SHOP, webhook_secret="merchant-secret")
    live_app.post_webhook("customers/create", SHOP, PAYLOAD, secret="merchant-secret")
    live_app.post_webhook("customers/create", SHOP, PAYLOAD, secret="wrong-secret")
    assert "webhooks.shopify.stored" in caplog.text
    assert "webhooks.shopify.hmac_invalid" in caplog.text
    for secret_or_personal in ("bob@example.com", "merchant-secret", "wrong-secret"):
        assert secret_or_personal not in caplog.text
