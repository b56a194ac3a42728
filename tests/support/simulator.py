"""Fixtures around the simulated Shopify: a running simulator and a runtime pointed at it.

    def test_something(simulator, sim_runtime) -> None:
        token = simulator.state.issue_custom_token("a.myshopify.com")
        ...  # the app reaches the shop at simulator.base_url over real HTTP

- `simulator`: a `SimulatorHandle` (real HTTP server on 127.0.0.1, a free port) for the
  test API key/secret, granting the manifest's scopes; `simulator.state` records every
  request and has the failure switches (`state.switches.fail_refresh`, …).
- `sim_settings` / `sim_runtime`: the `settings` of the backend under test with
  `shopify_base_url` pointing at the simulator (the runtime is closed afterwards).
- `install_via_exchange(runtime, simulator, shop)`: a managed install (token exchange).
- `admin_client(simulator, shop)`: the app's AdminClient on a fresh custom-app token (no
  database needed), e.g. to run the registered documents against the simulator.
- `webhook_receiver`: a local HTTP server that records what is POSTed to `receiver.url`
  (the simulator's webhooks); `receiver.wait_for(n)` waits for n deliveries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import requests
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from plugin.manifest import access_scopes
from plugin.platforms.shopify.client import AdminClient
from plugin.platforms.shopify.install import install_from_session_token
from plugin.platforms.shopify.session_token import verify_session_token
from plugin.platforms.shopify.simulator import SimulatorHandle, start_simulator
from plugin.runtime import Runtime, build_runtime
from plugin.settings import Settings
from tests.conftest import TEST_API_KEY, TEST_API_SECRET


@pytest.fixture
def simulator() -> Iterator[SimulatorHandle]:
    handle = start_simulator(TEST_API_KEY, TEST_API_SECRET, app_scopes=access_scopes())
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def sim_settings(settings: Settings, simulator: SimulatorHandle) -> Settings:
    return replace(settings, shopify_base_url=simulator.base_url)


@pytest.fixture
def sim_runtime(sim_settings: Settings) -> Iterator[Runtime]:
    runtime = build_runtime(sim_settings)
    try:
        yield runtime
    finally:
        runtime.close()


def install_via_exchange(runtime: Runtime, simulator: SimulatorHandle, shop: str) -> None:
    """Install `shop` the managed way, as the first admin load does."""
    token = verify_session_token(simulator.mint_session_token(shop), runtime.settings)
    install_from_session_token(runtime, token)


def admin_client(simulator: SimulatorHandle, shop: str, **options: Any) -> AdminClient:
    """The app's AdminClient for `shop` on the simulator (options as AdminClient's)."""
    settings = Settings(shopify_base_url=simulator.base_url)
    token = simulator.state.issue_custom_token(shop)
    return AdminClient(requests.Session(), settings, shop, token, **options)


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    server: BaseWSGIServer
    received: list[Delivery] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.server.host}:{self.server.port}/webhooks"

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.received)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver: WebhookReceiver

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        receiver.received.append(Delivery(request.path, dict(request.headers), request.get_data()))
        return Response("ok")(environ, start_response)

    receiver = WebhookReceiver(make_server("127.0.0.1", 0, app, threaded=True))
    thread = threading.Thread(
        target=receiver.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join(timeout=5)
