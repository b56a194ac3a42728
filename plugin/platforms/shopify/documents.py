"""Every GraphQL document the app sends to Shopify, in one registry a test validates."""

from __future__ import annotations

from plugin.platforms.shopify.registry import DOCUMENTS, Document, document

__all__ = ["DOCUMENTS", "Document", "document"]


# The plan is the active subscription's name (AppSubscription has no plan handle field).
SHOP_INFO = document(
    "ShopInfo",
    """
    query ShopInfo {
      shop { id name myshopifyDomain ianaTimezone currencyCode }
      currentAppInstallation {
        accessScopes { handle }
        activeSubscriptions { id name status test createdAt }
      }
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
        ... on Product { id title productType vendor tags updatedAt category { id } }
      }
    }
    """,
)

# --- pushing segments to the shop (issue 4) -------------------------------------------------

CUSTOMER_TAGS_ADD = document(
    "CustomerTagsAdd",
    """
    mutation CustomerTagsAdd($id: ID!, $tags: [String!]!) {
      tagsAdd(id: $id, tags: $tags) {
        node { ... on Customer { id tags } }
        userErrors { field message }
      }
    }
    """,
)

CUSTOMER_TAGS_REMOVE = document(
    "CustomerTagsRemove",
    """
    mutation CustomerTagsRemove($id: ID!, $tags: [String!]!) {
      tagsRemove(id: $id, tags: $tags) {
        node { ... on Customer { id tags } }
        userErrors { field message }
      }
    }
    """,
)

# A customer's changes in one call. Removal runs first (mutation fields run in order), so a
# customer at Shopify's 250-tag limit can swap one managed tag for another.
CUSTOMER_TAGS_SYNC = document(
    "CustomerTagsSync",
    """
    mutation CustomerTagsSync($id: ID!, $add: [String!]!, $remove: [String!]!) {
      removed: tagsRemove(id: $id, tags: $remove) {
        userErrors { field message }
      }
      added: tagsAdd(id: $id, tags: $add) {
        node { ... on Customer { id tags } }
        userErrors { field message }
      }
    }
    """,
)

# Current tags and email-marketing consent (`emailMarketingConsent` is deprecated in 2026-01).
CUSTOMERS_TAGS_AND_CONSENT = document(
    "CustomersTagsAndConsent",
    """
    query CustomersTagsAndConsent($ids: [ID!]!) {
      nodes(ids: $ids) {
        ... on Customer {
          id
          tags
          defaultEmailAddress { emailAddress marketingState }
        }
      }
    }
    """,
)

FLOW_TRIGGER_RECEIVE = document(
    "FlowTriggerReceive",
    """
    mutation FlowTriggerReceive($handle: String!, $payload: JSON!) {
      flowTriggerReceive(handle: $handle, payload: $payload) {
        userErrors { field message }
      }
    }
    """,
)

STAGED_UPLOADS_CREATE = document(
    "StagedUploadsCreate",
    """
    mutation StagedUploadsCreate($input: [StagedUploadInput!]!) {
      stagedUploadsCreate(input: $input) {
        stagedTargets { url resourceUrl parameters { name value } }
        userErrors { field message }
      }
    }
    """,
)

BULK_OPERATION_RUN_MUTATION = document(
    "BulkOperationRunMutation",
    """
    mutation BulkOperationRunMutation(
      $mutation: String!, $stagedUploadPath: String!, $clientIdentifier: String
    ) {
      bulkOperationRunMutation(
        mutation: $mutation, stagedUploadPath: $stagedUploadPath,
        clientIdentifier: $clientIdentifier
      ) {
        bulkOperation { id status }
        userErrors { field message code }
      }
    }
    """,
)

BULK_OPERATION_RUN_QUERY = document(
    "BulkOperationRunQuery",
    """
    mutation BulkOperationRunQuery($query: String!) {
      bulkOperationRunQuery(query: $query) {
        bulkOperation { id status }
        userErrors { field message code }
      }
    }
    """,
)

BULK_OPERATION_STATUS = document(
    "BulkOperationStatus",
    """
    query BulkOperationStatus($id: ID!) {
      bulkOperation(id: $id) {
        id type status errorCode objectCount url partialDataUrl createdAt completedAt
      }
    }
    """,
)

# The inner documents of bulk operations: Shopify runs them once per JSONL line (mutations,
# each line holding `{"id": ..., "tags": [...]}`) or once over every customer (the query).
BULK_TAGS_ADD = document(
    "BulkTagsAdd",
    """
    mutation BulkTagsAdd($id: ID!, $tags: [String!]!) {
      tagsAdd(id: $id, tags: $tags) {
        node { id }
        userErrors { field message }
      }
    }
    """,
)

BULK_TAGS_REMOVE = document(
    "BulkTagsRemove",
    """
    mutation BulkTagsRemove($id: ID!, $tags: [String!]!) {
      tagsRemove(id: $id, tags: $tags) {
        node { id }
        userErrors { field message }
      }
    }
    """,
)

BULK_CUSTOMERS_TAGS = document(
    "BulkCustomersTags",
    """
    query BulkCustomersTags {
      customers {
        edges { node { id tags defaultEmailAddress { emailAddress marketingState } } }
      }
    }
    """,
)

# The history import's documents register themselves in the same registry (and its test).
from plugin.platforms.shopify import history_documents  # noqa: E402, F401
