"""Every GraphQL document the app sends validates against Shopify's schema, nothing deprecated."""

from __future__ import annotations

import pytest
from graphql import GraphQLSchema, build_schema, parse, validate
from graphql.validation import NoDeprecatedCustomRule, specified_rules

from plugin.manifest import subscriptions
from plugin.platforms.shopify.documents import DOCUMENTS, WEBHOOK_SUBSCRIPTION_CREATE
from plugin.platforms.shopify.subscriptions import topic_enum
from tests.conftest import SHOPIFY_SCHEMA

RULES = [*specified_rules, NoDeprecatedCustomRule]


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    if not SHOPIFY_SCHEMA.exists():
        pytest.fail(f"Shopify's schema is missing at {SHOPIFY_SCHEMA}")
    return build_schema(SHOPIFY_SCHEMA.read_text(encoding="utf-8"), assume_valid=True)


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
