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
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from plugin.manifest import access_scopes
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
