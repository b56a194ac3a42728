"""Shop-specific webhook subscriptions by GraphQL (custom-app shops), from the manifest's topics."""

from __future__ import annotations

import logging

from plugin.manifest import subscriptions
from plugin.platforms.shopify.client import AdminClient, UserErrors
from plugin.platforms.shopify.documents import WEBHOOK_SUBSCRIPTION_CREATE

ALREADY_TAKEN = "already been taken"

log = logging.getLogger(__name__)


def topic_enum(topic: str) -> str:
    """`orders/create` -> `ORDERS_CREATE`, `customer.tags_added` -> `CUSTOMER_TAGS_ADDED`."""
    return topic.upper().replace("/", "_").replace(".", "_")


def register_webhooks(client: AdminClient, app_url: str) -> list[str]:
    """Subscribe every non-compliance topic; topics already subscribed count as done.

    Compliance topics are not in the GraphQL topic enum: shopify.app.toml carries them.
    Returns the topics newly subscribed.
    """
    created = []
    for sub in subscriptions(compliance=False):
        variables = {"topic": topic_enum(sub.topic), "uri": app_url + sub.route}
        try:
            client.execute(WEBHOOK_SUBSCRIPTION_CREATE, variables)
        except UserErrors as exc:
            if not all(ALREADY_TAKEN in m for m in exc.messages):
                raise
            continue
        created.append(sub.topic)
    log.info("shops.webhooks.registered shop=%s count=%d", client.shop, len(created))
    return created
