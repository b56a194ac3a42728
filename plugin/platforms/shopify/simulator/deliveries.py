"""Webhooks the simulated shops send: signed with the app's secret, recorded in the state."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import requests

from plugin.platforms.shopify.simulator.signing import send_webhook
from plugin.platforms.shopify.simulator.state import SimulatorState, WebhookDelivery

TAG_TOPICS = {"add": "customer.tags_added", "remove": "customer.tags_removed"}


def tags_payload(customer_gid: str, tags: list[str]) -> dict[str, Any]:
    """The body of customer.tags_added / customer.tags_removed."""
    moment = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"customerId": customer_gid, "tags": tags, "occurredAt": moment}


def topic_enum(topic: str) -> str:
    """`bulk_operations/finish` -> `BULK_OPERATIONS_FINISH`, as subscriptions name topics."""
    return topic.upper().replace("/", "_").replace(".", "_")


def deliver(
    state: SimulatorState, shop: str, topic: str, payload: Any, url: str | None = None
) -> list[WebhookDelivery]:
    """POST one signed delivery to `url`, or to each address subscribed to `topic`."""
    urls = [url] if url else state.subscription_uris(shop, topic_enum(topic))
    deliveries = []
    for address in urls:
        try:
            status: int | None = send_webhook(
                address, shop, topic, payload, state.api_secret, timeout=10
            ).status_code
        except requests.RequestException:
            status = None  # the app is down: recorded, not raised (Shopify would retry later)
        delivery = WebhookDelivery(shop, topic, address, payload, status)
        state.record_delivery(delivery)
        deliveries.append(delivery)
    return deliveries


def deliver_later(state: SimulatorState, shop: str, topic: str, payload: Any) -> None:
    """Deliver from a thread when subscribed, so the API answer that caused it is not delayed."""
    if not state.subscription_uris(shop, topic_enum(topic)):
        return
    threading.Thread(
        target=deliver, args=(state, shop, topic, payload), name="sim-webhook", daemon=True
    ).start()
