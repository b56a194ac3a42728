"""Running the simulator as a real HTTP server in a background thread."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from plugin.platforms.shopify.admin_schema import load_schema
from plugin.platforms.shopify.simulator.app import create_simulator_app
from plugin.platforms.shopify.simulator.customers import GID_PREFIX
from plugin.platforms.shopify.simulator.deliveries import (
    TAG_TOPICS,
    deliver,
    tags_payload,
    wait_for_webhooks,
)
from plugin.platforms.shopify.simulator.registry import DEFAULT_SCHEMA_PATH
from plugin.platforms.shopify.simulator.signing import mint_session_token
from plugin.platforms.shopify.simulator.state import SimulatorState, WebhookDelivery


@dataclass
class SimulatorHandle:
    """A running simulator: point SHOPSEG_SHOPIFY_BASE_URL at `base_url`, inspect `state`."""

    state: SimulatorState
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def root_url(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + "/{shop}"

    def shop_url(self, shop: str) -> str:
        return f"{self.root_url}/{shop}"

    def mint_session_token(self, shop: str, **claims: Any) -> str:
        return mint_session_token(shop, self.state.api_key, self.state.api_secret, **claims)

    def send_webhook(
        self, shop: str, topic: str, payload: Any, url: str | None = None
    ) -> list[WebhookDelivery]:
        """Deliver a signed `topic` webhook to `url`, or to the shop's subscribed addresses.

        `topic` is spelled as in the X-Shopify-Topic header (`orders/create`). Each delivery
        is returned and kept in `state.webhook_deliveries` (status None: no answer).
        """
        return deliver(self.state, shop, topic, payload, url)

    def edit_tags(
        self,
        shop: str,
        customer_id: str | int,
        *,
        add: list[str] | tuple[str, ...] = (),
        remove: list[str] | tuple[str, ...] = (),
    ) -> None:
        """The merchant edits a customer's tags in the admin, as Shopify would report it.

        Effective changes land in `state.tag_log` and go, signed, as customer.tags_added /
        customer.tags_removed to the shop's subscribed addresses (before this returns).
        ValueError when Shopify would refuse the edit (limits, unknown customer).
        """
        customers, local = self.state.customers, str(customer_id)
        for change, tags in (("remove", remove), ("add", add)):
            apply = customers.add_tags if change == "add" else customers.remove_tags
            errors, changed = apply(shop, local, list(tags)) if tags else ([], [])
            if errors:
                raise ValueError(errors[0]["message"])
            if changed:
                deliver(
                    self.state, shop, TAG_TOPICS[change], tags_payload(GID_PREFIX + local, changed)
                )

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Wait until the webhooks API calls caused (tag changes) were sent; False on timeout."""
        return wait_for_webhooks(self.state, timeout)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_simulator(
    api_key: str,
    api_secret: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    application_url: str | None = None,
    app_scopes: list[str] | None = None,
    app_webhooks: list[tuple[str, str]] | None = None,
    schema_path: Path | None = None,
) -> SimulatorHandle:
    """Start the simulated shops on `host:port` (0 = any free port) in a daemon thread.

    `app_webhooks` are the app's own subscriptions, (topic enum, uri), which Shopify applies
    to every shop the app is installed on (shopify.app.toml), as opposed to the per-shop
    ones a custom app registers by GraphQL.
    """
    path = schema_path or DEFAULT_SCHEMA_PATH
    load_schema(path)  # fail now, not on the first request, if the schema is missing
    state = SimulatorState(
        api_key,
        api_secret,
        application_url=application_url,
        app_scopes=app_scopes,
        app_webhooks=app_webhooks,
    )
    server = make_server(host, port, create_simulator_app(state, path), threaded=True)
    state.root_url = f"http://{server.host}:{server.port}"
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # A short poll interval makes stop() quick (the default waits up to 0.5 s).
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.02},
        name="shopify-simulator",
        daemon=True,
    )
    thread.start()
    return SimulatorHandle(state, server, thread)
