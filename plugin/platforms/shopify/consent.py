"""Looking up customers' email marketing state just in time, with `nodes(ids:)`."""

from __future__ import annotations

from plugin.platforms.shopify.client import AdminClient
from plugin.platforms.shopify.documents import CUSTOMERS_TAGS_AND_CONSENT
from plugin.runtime import Runtime

BATCH = 100
GID = "gid://shopify/Customer/"
NO_EMAIL = ""  # the customer exists but has no email address


def fetch_consent(
    runtime: Runtime, shop: str, access_token: str, customer_ids: list[str]
) -> dict[str, str]:
    """Each existing customer's marketing state (e.g. SUBSCRIBED), or NO_EMAIL; customers
    the shop no longer has are left out."""
    client = AdminClient(runtime.http, runtime.settings, shop, access_token)
    found: dict[str, str] = {}
    for start in range(0, len(customer_ids), BATCH):
        ids = customer_ids[start : start + BATCH]
        data = client.execute(CUSTOMERS_TAGS_AND_CONSENT, {"ids": [GID + i for i in ids]})
        for node in data.get("nodes") or []:
            if not node or not str(node.get("id", "")).startswith(GID):
                continue
            address = node.get("defaultEmailAddress") or {}
            state = address.get("marketingState") if address.get("emailAddress") else None
            found[str(node["id"])[len(GID) :]] = str(state or NO_EMAIL)
    return found
