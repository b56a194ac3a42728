"""Every GraphQL document the app sends to Shopify, in one registry a test validates."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Document:
    name: str
    text: str


DOCUMENTS: dict[str, Document] = {}


def document(name: str, text: str) -> Document:
    """Register a document under its operation name (which must be unique)."""
    if name in DOCUMENTS:
        raise ValueError(f"GraphQL document {name} is registered twice")
    DOCUMENTS[name] = Document(name, text.strip())
    return DOCUMENTS[name]


SHOP_INFO = document(
    "ShopInfo",
    """
    query ShopInfo {
      shop { id name myshopifyDomain ianaTimezone currencyCode }
      currentAppInstallation { accessScopes { handle } }
    }
    """,
)

WEBHOOK_SUBSCRIPTION_CREATE = document(
    "WebhookSubscriptionCreate",
    """
    mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $uri: String!) {
      webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri}) {
        webhookSubscription { id topic uri }
        userErrors { field message }
      }
    }
    """,
)

# Order line items carry no product type: unknown products are looked up by id.
PRODUCTS_BY_IDS = document(
    "ProductsByIds",
    """
    query ProductsByIds($ids: [ID!]!) {
      nodes(ids: $ids) {
        ... on Product { id title productType vendor tags updatedAt }
      }
    }
    """,
)
