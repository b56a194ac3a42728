"""Every GraphQL document the app sends validates against the vendored schema of the API
version the app speaks, with deprecated fields refused."""

from __future__ import annotations

import pytest
from graphql import GraphQLSchema, parse, validate
from graphql.validation import NoDeprecatedCustomRule, specified_rules

from plugin.manifest import subscriptions
from plugin.platforms.shopify.admin_schema import load_schema, vendored_versions
from plugin.platforms.shopify.documents import DOCUMENTS, WEBHOOK_SUBSCRIPTION_CREATE
from plugin.platforms.shopify.simulator.registry import DEFAULT_SCHEMA_PATH
from plugin.platforms.shopify.subscriptions import topic_enum
from plugin.settings import DEFAULT_API_VERSION
from tests.conftest import SHOPIFY_SCHEMA

RULES = [*specified_rules, NoDeprecatedCustomRule]


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    if not SHOPIFY_SCHEMA.exists():
        pytest.fail(f"Shopify's schema is missing at {SHOPIFY_SCHEMA}")
    return load_schema(SHOPIFY_SCHEMA)


def test_the_default_api_version_is_the_vendored_one_the_simulator_serves() -> None:
    assert DEFAULT_API_VERSION in vendored_versions()
    assert SHOPIFY_SCHEMA.name == f"admin_{DEFAULT_API_VERSION}.json.gz"
    assert DEFAULT_SCHEMA_PATH == SHOPIFY_SCHEMA


def errors(schema: GraphQLSchema, text: str) -> list[str]:
    return [e.message for e in validate(schema, parse(text), RULES)]


def test_the_registry_holds_the_documents_install_needs() -> None:
    assert {"ShopInfo", "WebhookSubscriptionCreate"} <= set(DOCUMENTS)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_validates_without_deprecated_fields(schema: GraphQLSchema, name: str) -> None:
    document = DOCUMENTS[name]
    assert errors(schema, document.text) == []
    # The registry key is the operation's own name (logs and errors quote it).
    assert f" {name}" in document.text.split("{", 1)[0]


def test_deprecated_and_unknown_fields_would_be_caught(schema: GraphQLSchema) -> None:
    deprecated = WEBHOOK_SUBSCRIPTION_CREATE.text.replace("{uri: $uri}", "{callbackUrl: $uri}")
    assert any("deprecated" in m for m in errors(schema, deprecated))
    assert errors(schema, "query { shop { timezoneOfTheShop } }")


# What 2026-10 deprecates among the fields a customer or bulk import would naturally ask for,
# and the replacements that must stay valid (read from the vendored schema, not guessed).
DEPRECATED_IN_2026_10 = [
    "{ customer(id: $id) { emailMarketingConsent { marketingState } } }",
    "{ customer(id: $id) { smsMarketingConsent { marketingState } } }",
    "{ customer(id: $id) { addresses { city } } }",
    "{ customer(id: $id) { email phone } }",
    # Deprecated too in 2026-10, in favour of `smsMarketingConsent` on the phone number.
    "{ customer(id: $id) { defaultPhoneNumber { marketingState } } }",
    "{ currentBulkOperation { id } }",
]
REPLACEMENTS = [
    "{ customer(id: $id) { defaultEmailAddress { emailAddress marketingState } } }",
    "{ customer(id: $id) { defaultPhoneNumber { phoneNumber smsMarketingConsent { state } } } }",
    "{ customer(id: $id) { addressesV2(first: 5) { nodes { city countryCodeV2 } } } }",
    "{ customer(id: $id) { statistics { predictedSpendTier rfmGroup } } }",
    "{ bulkOperation(id: $id) { id status url } }",
]


@pytest.mark.parametrize("selection", DEPRECATED_IN_2026_10)
def test_fields_deprecated_in_the_spoken_version_are_refused(
    schema: GraphQLSchema, selection: str
) -> None:
    found = errors(schema, query(selection))
    assert found and all("deprecated" in m for m in found), found


@pytest.mark.parametrize("selection", REPLACEMENTS)
def test_their_replacements_validate(schema: GraphQLSchema, selection: str) -> None:
    assert errors(schema, query(selection)) == []


def query(selection: str) -> str:
    return f"query Q{'($id: ID!)' if '$id' in selection else ''} {selection}"


def test_every_subscribed_topic_is_a_graphql_topic_and_compliance_topics_are_not(
    schema: GraphQLSchema,
) -> None:
    enum = schema.get_type("WebhookSubscriptionTopic")
    values = set(enum.values)  # type: ignore[union-attr]
    regular = [topic_enum(s.topic) for s in subscriptions(compliance=False)]
    assert regular and set(regular) <= values
    assert not {topic_enum(s.topic) for s in subscriptions(compliance=True)} & values


def test_topic_enum_spelling() -> None:
    assert topic_enum("customers_email_marketing_consent/update") == (
        "CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE"
    )
    assert topic_enum("customer.tags_added") == "CUSTOMER_TAGS_ADDED"
