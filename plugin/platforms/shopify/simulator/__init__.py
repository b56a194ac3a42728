"""A simulated Shopify (OAuth, Admin GraphQL, webhook delivery) over real local HTTP."""

from plugin.platforms.shopify.simulator.server import SimulatorHandle, start_simulator
from plugin.platforms.shopify.simulator.signing import (
    host_param,
    mint_session_token,
    query_hmac,
    send_webhook,
    sign_query,
    webhook_headers,
)
from plugin.platforms.shopify.simulator.state import (
    IssuedToken,
    RecordedRequest,
    SimCustomer,
    SimShop,
    SimulatorState,
    Switches,
    WebhookDelivery,
)

__all__ = [
    "IssuedToken",
    "RecordedRequest",
    "SimCustomer",
    "SimShop",
    "SimulatorHandle",
    "SimulatorState",
    "Switches",
    "WebhookDelivery",
    "host_param",
    "mint_session_token",
    "query_hmac",
    "send_webhook",
    "sign_query",
    "start_simulator",
    "webhook_headers",
]
