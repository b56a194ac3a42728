"""The `live_app` fixture: the real app on a real port, reached over real HTTP.

It runs `create_app(runtime)` in a werkzeug server thread on 127.0.0.1 (a free port) for
the backend under test (SQLite and PostgreSQL, through the `settings` and `engine`
fixtures: tables are empty at the start). `settings.app_url` is the server's own URL.

    def test_customer_is_stored(live_app) -> None:
        live_app.install_shop("a.myshopify.com")
        response = live_app.post_webhook("customers/create", "a.myshopify.com", payload)
        assert response.status_code == 200
        live_app.drain()  # the worker, until no inbox row is due
        with live_app.runtime.sessions() as session:
            ...

- `post_webhook(topic, shop, payload, *, secret=None, webhook_id=None, event_id=None,
  api_version=None, triggered_at=None, headers=None, body=None)` posts to
  `/webhooks/shopify`, signed with the app's API secret (or `secret`). `payload` is a dict
  (sent as compact JSON) unless `body` gives the exact bytes. `headers` are merged last;
  a `None` value removes that header (e.g. `{"X-Shopify-Hmac-Sha256": None}`).
  Fresh webhook and event ids are generated unless given; the API version defaults to
  the settings'. Returns the `requests.Response`.
- `drain(now=None)` runs `plugin.worker.drain` (pass `now` to make backed-off retries due).
  To replace the Shopify adapter, monkeypatch `plugin.worker.adapter_for`.
- `install_shop(domain, *, webhook_secret=None, state="installed")` adds a shop row
  directly (no OAuth) and returns it; `inbox_rows(shop=None)` lists inbox rows by id.
- `shopify_headers(...)` and `sign(...)` build signed headers for your own requests.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from plugin.app import create_app
from plugin.crypto import encrypt
from plugin.db import utcnow
from plugin.inbox.models import InboxRow
from plugin.platforms.shopify.webhook_signature import webhook_hmac
from plugin.runtime import Runtime, build_runtime
from plugin.settings import Settings
from plugin.shops.models import INSTALLED, Shop
from plugin.worker import drain
from tests.support.inbox import recorder, runtime  # noqa: F401  (fixtures registered here)

WEBHOOK_PATH = "/webhooks/shopify"


def sign(secret: str, body: bytes) -> str:
    return webhook_hmac(secret, body)


def shopify_headers(
    topic: str,
    shop: str,
    body: bytes,
    secret: str,
    *,
    webhook_id: str | None = None,
    event_id: str | None = None,
    api_version: str = "2026-04",
    triggered_at: str | None = None,
) -> dict[str, str]:
    """Headers of one Shopify delivery, HMAC over exactly `body`."""
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Hmac-Sha256": sign(secret, body),
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
        "X-Shopify-API-Version": api_version,
        "X-Shopify-Triggered-At": triggered_at or utcnow().isoformat(),
    }


@dataclass
class LiveApp:
    url: str
    runtime: Runtime
    http: requests.Session

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    def post_webhook(
        self,
        topic: str,
        shop: str,
        payload: dict[str, Any] | None = None,
        *,
        secret: str | None = None,
        webhook_id: str | None = None,
        event_id: str | None = None,
        api_version: str | None = None,
        triggered_at: str | None = None,
        headers: dict[str, str | None] | None = None,
        body: bytes | None = None,
    ) -> requests.Response:
        if body is None:
            body = json.dumps(payload or {}, separators=(",", ":")).encode()
        sent: dict[str, str | None] = {
            **shopify_headers(
                topic,
                shop,
                body,
                secret or self.settings.shopify_api_secret,
                webhook_id=webhook_id,
                event_id=event_id,
                api_version=api_version or self.settings.shopify_api_version,
                triggered_at=triggered_at,
            ),
            **(headers or {}),
        }
        final = {k: v for k, v in sent.items() if v is not None}
        return self.http.post(self.url + WEBHOOK_PATH, data=body, headers=final, timeout=30)

    def drain(self, now: datetime | None = None) -> int:
        return drain(self.runtime, now=now)

    def install_shop(
        self, domain: str, *, webhook_secret: str | None = None, state: str = INSTALLED
    ) -> Shop:
        secret_enc = encrypt(self.settings.secret_key, webhook_secret) if webhook_secret else None
        with self.runtime.sessions.begin() as session:
            shop = Shop(
                domain=domain,
                install_state=state,
                webhook_secret_enc=secret_enc,
                installed_at=utcnow() if state == INSTALLED else None,
            )
            session.add(shop)
        return shop

    def inbox_rows(self, shop: str | None = None) -> list[InboxRow]:
        stmt = select(InboxRow).order_by(InboxRow.id)
        if shop is not None:
            stmt = stmt.where(InboxRow.shop_domain == shop)
        with self.runtime.sessions() as session:
            return list(session.scalars(stmt))


def _placeholder_app(environ: Any, start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [])
    return [b"starting"]


@pytest.fixture
def live_app(settings: Settings) -> Iterator[LiveApp]:
    """The app served over HTTP on the backend under test (see the module docstring)."""
    # Bind first so the app's settings can carry its real URL (OAuth redirects need it).
    server: BaseWSGIServer = make_server("127.0.0.1", 0, _placeholder_app, threaded=True)
    url = f"http://127.0.0.1:{server.port}"
    app_runtime = build_runtime(replace(settings, app_url=url))
    server.app = create_app(app_runtime)
    # A short poll interval makes shutdown quick (the default waits up to 0.5 s).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="live-app", daemon=True
    )
    thread.start()
    http = requests.Session()
    try:
        yield LiveApp(url, app_runtime, http)
    finally:
        http.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        app_runtime.close()
