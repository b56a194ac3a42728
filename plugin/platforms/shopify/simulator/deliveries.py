"""Webhooks the simulated shops send: signed with the app's secret, recorded in the state."""

from __future__ import annotations

import queue
import threading
import time
from datetime import UTC, datetime
from typing import Any

import requests

from plugin.platforms.shopify.simulator.signing import send_webhook
from plugin.platforms.shopify.simulator.state import SimulatorState, WebhookDelivery

IDLE_SECONDS = 1.0  # the sender thread ends after this long without webhooks to send
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
    """Queue a delivery when subscribed, so the API answer that caused it is not delayed.

    One sender thread per simulator sends the queue in order (a bulk run of thousands of
    tag changes must not start thousands of threads); it ends once the queue stays empty.
    """
    if not state.subscription_uris(shop, topic_enum(topic)):
        return
    with state.lock:  # the sender decides to end under this lock too: nothing is stranded
        state.outgoing_webhooks.put((shop, topic, payload))
        if state.webhook_sender is None:
            state.webhook_sender = threading.Thread(
                target=_send_queued, args=(state,), name="sim-webhooks", daemon=True
            )
            state.webhook_sender.start()


def wait_for_webhooks(state: SimulatorState, timeout: float = 10.0) -> bool:
    """Wait until every queued webhook was sent; False when `timeout` passed first."""
    deadline = time.monotonic() + timeout
    while state.outgoing_webhooks.unfinished_tasks and time.monotonic() < deadline:
        time.sleep(0.01)
    return not state.outgoing_webhooks.unfinished_tasks


def _send_queued(state: SimulatorState) -> None:
    while True:
        try:
            shop, topic, payload = state.outgoing_webhooks.get(timeout=IDLE_SECONDS)
        except queue.Empty:
            with state.lock:
                if state.outgoing_webhooks.empty():
                    state.webhook_sender = None
                    return
            continue
        try:
            deliver(state, shop, topic, payload)
        finally:
            state.outgoing_webhooks.task_done()
