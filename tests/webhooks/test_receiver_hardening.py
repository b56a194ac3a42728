"""The receiver under hostile input: headers no column can hold, bodies no parser reads,
chunked bodies over the limit. Each answer is a 2xx or a 4xx `{error, detail}`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from plugin.app import MAX_WEBHOOK_BYTES
from plugin.inbox.models import DEAD, PENDING
from tests.support.live import LiveApp, shopify_headers

SHOP = "demo-shop.myshopify.com"
PAYLOAD = {"id": 7, "email": "bob@example.com"}


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Shopify-Webhook-Id": "w" * 256},
        {"X-Shopify-Event-Id": "e" * 256},
        {"X-Shopify-Topic": "orders/" + "x" * 122},
        {"X-Shopify-API-Version": "2026-04" + "-rc" * 9},
        {"X-Shopify-API-Version": "2026-13"},
        {"X-Shopify-API-Version": "latest"},
        {"X-Shopify-Shop-Domain": "a" * 250 + ".myshopify.com"},
        {"X-Shopify-Topic": "orders/create\x00"},
        {"X-Shopify-Webhook-Id": "wh\x00-1"},
        {"X-Shopify-Event-Id": "ev\x01-1"},
        {"X-Shopify-Name": "sub\x00scription"},
        {"X-Shopify-Sub-Topic": "s" * 1025},
    ],
)
def test_header_no_column_can_hold_is_a_400_and_stores_nothing(
    live_app: LiveApp, headers: dict[str, str | None]
) -> None:
    live_app.install_shop(SHOP)
    response = live_app.post_webhook("orders/create", SHOP, PAYLOAD, headers=headers)
    assert response.status_code == 400
    assert set(response.json()) == {"error", "detail"}
    assert live_app.inbox_rows() == []


def test_headers_at_their_limits_are_accepted(live_app: LiveApp) -> None:
    response = live_app.post_webhook(
        "orders/create",
        SHOP,
        PAYLOAD,
        webhook_id="w" * 255,
        event_id="e" * 255,
        api_version="unstable",
        headers={"X-Shopify-Name": "n" * 1024},
    )
    assert response.status_code == 200
    [row] = live_app.inbox_rows()
    assert (len(row.webhook_id), row.api_version) == (255, "unstable")


@pytest.mark.parametrize(
    "stamp",
    [
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "1969-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
        "yesterday",
    ],
)
def test_out_of_range_trigger_time_is_dropped_and_the_delivery_kept(
    live_app: LiveApp, stamp: str
) -> None:
    live_app.install_shop(SHOP)
    response = live_app.post_webhook("orders/create", SHOP, PAYLOAD, triggered_at=stamp)
    assert response.status_code == 200
    [row] = live_app.inbox_rows()
    assert (row.status, row.triggered_at) == (PENDING, None)
    assert row.headers["x-shopify-triggered-at"] == stamp  # kept as sent, for the record


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, "nested deeper"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
        (b'{"id": ' + b"9" * 5000 + b"}", "too many digits"),
        (b'{"id": 1, "note": "\xc3\x28"}', "not UTF-8"),
        (b'{"id": 1, "email": "bob\x00@example.com"}', "raw NUL"),
        (b'"just a string"', "not a JSON object"),
        (b"", "not JSON"),
    ],
)
def test_signed_body_no_parser_reads_is_a_200_and_parked_as_dead(
    live_app: LiveApp, body: bytes, reason: str
) -> None:
    live_app.install_shop(SHOP)
    response = live_app.post_webhook("customers/create", SHOP, body=body)
    assert response.status_code == 200
    live_app.drain()
    [row] = live_app.inbox_rows()
    assert row.status == DEAD
    assert reason in (row.last_error or "") and "bob" not in (row.last_error or "")
    assert live_app.drain() == 0  # parked, not retried


def test_unstorable_body_is_parked_at_receipt_without_its_bytes(live_app: LiveApp) -> None:
    body = b'{"id": 1, "email": "bob\x00@example.com"}'
    assert live_app.post_webhook("customers/create", SHOP, body=body).status_code == 200
    [row] = live_app.inbox_rows()  # the shop is not installed: nothing ran but the receiver
    assert (row.status, row.payload, row.attempts) == (DEAD, None, 0)
    assert "offset 23" in (row.last_error or "")


def test_unsigned_unreadable_body_is_still_a_401(live_app: LiveApp) -> None:
    body = b"[" * 100_000
    response = live_app.post_webhook("orders/create", SHOP, body=body, secret="wrong")
    assert response.status_code == 401
    assert live_app.inbox_rows() == []


def _chunked(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _post_chunked(live_app: LiveApp, body: bytes) -> tuple[int, dict[str, str]]:
    headers = shopify_headers("orders/create", SHOP, body, live_app.settings.shopify_api_secret)
    # A generator body makes requests send Transfer-Encoding: chunked, no Content-Length.
    response = live_app.http.post(
        live_app.url + "/webhooks/shopify", data=_chunked(body), headers=headers, timeout=30
    )
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    return response.status_code, response.json()


def _json_body(size: int) -> bytes:
    return b'{"x":"' + b"a" * (size - 8) + b'"}'


def test_chunked_body_over_the_limit_is_a_413(live_app: LiveApp) -> None:
    status, answer = _post_chunked(live_app, _json_body(6 * 1024 * 1024))
    assert (status, set(answer)) == (413, {"error", "detail"})
    status, _ = _post_chunked(live_app, _json_body(MAX_WEBHOOK_BYTES + 1))
    assert status == 413
    assert live_app.inbox_rows() == []


def test_chunked_body_of_exactly_the_limit_is_stored_whole(live_app: LiveApp) -> None:
    body = _json_body(MAX_WEBHOOK_BYTES)
    status, answer = _post_chunked(live_app, body)
    assert (status, answer) == (200, {"status": "stored"})
    [row] = live_app.inbox_rows()
    assert len(row.payload or "") == MAX_WEBHOOK_BYTES


def test_small_chunked_body_is_stored(live_app: LiveApp) -> None:
    body = json.dumps(PAYLOAD).encode()
    assert _post_chunked(live_app, body) == (200, {"status": "stored"})
    [row] = live_app.inbox_rows()
    assert json.loads(row.payload or "") == PAYLOAD
