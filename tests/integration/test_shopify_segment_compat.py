"""Segment strings in Shopify's own syntax: the supported ones select the customers the
hand-built store says (test_segment_compiler_store.py), the rest are named as unavailable.

Sources: Shopify Help Center, "Shopify-based customer segment filters"
(help.shopify.com/en/manual/customers/customer-segmentation/reference-guide/shopify-segments:
the filters' examples, named dates, operators) and the shopify.dev changelog "Updated function
syntax on the segment query language" (MATCHES replacing `= true`, the `quantity` examples,
named dates deprecated). Where a page gives a filter's syntax without a full example, the
string below uses that syntax with this store's values.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from plugin.segments.errors import QueryError
from plugin.segments.parser import parse_query
from plugin.settings import Settings
from plugin.shops.models import Shop
from tests.integration.test_segment_compiler_store import build_store, members

SUPPORTED: list[tuple[str, set[str]]] = [
    # help center examples
    ("abandoned_checkout_date >= 7_days_ago", {"3"}),
    ("abandoned_checkout_date > -8m", {"3"}),
    ("amount_spent BETWEEN 1 AND 999.99", {"1", "2", "5"}),
    ("abandoned_checkout_date = today", set()),
    ("abandoned_checkout_date = yesterday", set()),
    ("abandoned_checkout_date >= 30_days_ago", {"3"}),
    ("last_order_date >= 90_days_ago", {"1", "2"}),
    ("last_order_date >= 12_months_ago", {"1", "2", "5"}),
    ("customer_countries CONTAINS 'US'", {"2"}),
    ("customer_cities CONTAINS 'US-NY-NewYorkCity'", {"2"}),
    ("customer_cities NOT CONTAINS 'US-NY-NewYorkCity'", {"1", "3", "4", "5"}),
    ("customer_regions CONTAINS 'US-NY'", {"2"}),
    ("sms_subscription_status = 'SUBSCRIBED'", {"2"}),
    ("customer_tags CONTAINS 'Wholesale'", {"2"}),
    ("customer_tags NOT CONTAINS 'VIP'", {"2", "3", "4", "5"}),
    ("email_subscription_status = 'SUBSCRIBED'", {"1"}),
    ("email_subscription_status = 'NOT_SUBSCRIBED'", {"2"}),
    ("number_of_orders > 1", {"1"}),
    ("number_of_orders = 0", {"3", "4"}),
    ("customer_account_status = 'DISABLED'", set()),
    ("customer_added_date >= -7d", {"2"}),
    ("customer_added_date < 2025-01-01", {"3"}),
    # changelog: the function syntax, old and new
    ("products_purchased(quantity: 5) = true", {"2"}),
    ("products_purchased MATCHES (quantity = 5)", {"2"}),
    ("products_purchased MATCHES (quantity != 5)", {"1", "5"}),
    ("products_purchased MATCHES (quantity > 3)", {"1", "2"}),
    ("products_purchased(id: 501) = true", {"1"}),
    ("products_purchased(id: (503, 504)) = true", {"2", "5"}),
    ("products_purchased(tag: 'sale', date: -30d) = true", {"1"}),
    ("products_purchased(product_type: 'Hats') = false", {"2", "3", "4", "5"}),
    ("products_purchased MATCHES (id = 501, date >= -30d)", {"1"}),
    ("products_purchased NOT MATCHES (id = 501)", {"2", "3", "4", "5"}),
    # issue 13: products_purchased category (a category and everything below it, as the GID
    # or its last part), orders_placed location_id and app_id, from the webhooks' fields
    ("products_purchased MATCHES (category = 'gid://shopify/TaxonomyCategory/aa-8-1')", {"1"}),
    ("products_purchased MATCHES (category = 'gid://shopify/TaxonomyCategory/aa')", {"1"}),
    ("products_purchased MATCHES (category = 'aa-8')", {"1"}),
    ("products_purchased MATCHES (category = 'aa-8-10')", set()),
    ("products_purchased MATCHES (category IN ('aa-2', 'zz'), date >= -30d)", set()),
    ("products_purchased MATCHES (category = 'aa-2', count = 1)", {"1"}),
    ("products_purchased NOT MATCHES (category = 'aa')", {"2", "3", "4", "5"}),
    ("products_purchased MATCHES (category != 'aa-2')", {"1", "2", "5"}),
    ("orders_placed MATCHES (location_id = 7423)", {"2"}),
    ("orders_placed MATCHES (location_id != 7423)", {"1", "5"}),
    ("orders_placed MATCHES (app_id IN (580111, 129785), date >= -30d)", {"2"}),
    ("orders_placed MATCHES (app_id = 580111, count = 1)", {"1"}),
    # issue 13: anniversary (help center: `anniversary(date: '…')`, later pages without the
    # `date:`), and metafield filters (the help center's points example is
    # `customer.points_balance >= 100`; the metafield is named by namespace and key)
    ("anniversary(date: 'metafields.facts.birth_date') BETWEEN today AND +30d", {"1", "3"}),
    ("anniversary('metafields.facts.birth_date') BETWEEN today AND +30d", {"1", "3"}),
    ("anniversary('metafields.facts.birth_date') BETWEEN today AND +7d", {"3"}),
    ("anniversary('metafields.facts.birth_date') = today", {"3"}),
    ("anniversary('metafields.facts.birth_date') = yesterday", {"2"}),
    ("anniversary('metafields.facts.birth_date') = 2000-06-15", {"1"}),
    ("anniversary('metafields.facts.birth_date') IS NULL", {"4", "5"}),
    ("metafields.custom.points_balance >= 100", {"1"}),
    ("metafields.custom.points_balance BETWEEN 10 AND 100", {"3"}),
    ("metafields.custom.points_balance != 150", {"2", "3", "4", "5"}),
    ("metafields.custom.points_balance IS NOT NULL", {"1", "3"}),
    ("metafields.custom.newsletter = true", {"5"}),
    ("metafields.custom.interests CONTAINS 'tea'", {"5"}),
    ("metafields.custom.notes IS NULL", {"1", "2", "3", "4", "5"}),
    ("metafields.facts.birth_date < 1990-01-01", {"2"}),
    # issue 13: companies (imported from Customer.companyContactProfiles; stored below)
    ("companies CONTAINS 4001", {"2"}),
    ("companies CONTAINS 'gid://shopify/Company/4002'", {"2", "5"}),
    ("companies NOT CONTAINS 4001", {"1", "3", "4", "5"}),
    ("companies IS NOT NULL", {"2", "5"}),
    # store_credit_accounts (the changelog's three templates: credit to spend, expiring in
    # the next 7 days, not used a month after it was given)
    ("store_credit_accounts MATCHES (balance > 0)", {"1", "5"}),
    ("store_credit_accounts MATCHES (next_expiry_date BETWEEN today AND +7d)", {"1"}),
    ("store_credit_accounts MATCHES (last_credit_date <= -30d, balance > 0)", set()),
    ("store_credit_accounts MATCHES (last_credit_date <= -10d, balance > 0)", {"1"}),
    ("store_credit_accounts MATCHES (currency = 'USD', balance > 100)", {"1"}),
    ("store_credit_accounts MATCHES (currency = 'eur', balance BETWEEN 10 AND 20)", {"5"}),
    ("store_credit_accounts MATCHES (last_credit_date < -60d)", {"2"}),
    ("store_credit_accounts NOT MATCHES ()", {"3", "4"}),
    # the examples
    ("number_of_orders >= 3 AND amount_spent > 500", {"1"}),
    ("last_order_date < -90d", {"5"}),
    ("last_order_date BETWEEN -30d AND today", {"1", "2"}),
    ("customer_countries CONTAINS 'PL'", {"1", "5"}),
    ("orders_placed MATCHES (date >= -30d)", {"1", "2"}),
    (
        "FROM customers\nSHOW customer_name, note, subscription_status, location, orders, "
        "amount_spent\nWHERE amount_spent >= 100\nORDER BY updated_at",
        {"1", "5"},
    ),
]

PARSE_ONLY = [
    # fields whose SQL lives in fields.py (RFM cut-offs, email domain): parse and print only
    ("rfm_group = 'NEEDS_ATTENTION'", "rfm_group = 'NEEDS_ATTENTION'"),
    ("rfm_group IN ('champions', 'loyal')", "rfm_group IN ('CHAMPIONS', 'LOYAL')"),
    ("customer_email_domain = 'gmail.com'", "customer_email_domain = 'gmail.com'"),
    # Shopify's imported values (issue 13): the help center's spelling
    ("predicted_spend_tier = 'HIGH'", "predicted_spend_tier = 'HIGH'"),
    ("predicted_spend_tier IN ('medium', 'low')", "predicted_spend_tier IN ('MEDIUM', 'LOW')"),
]

NOT_AVAILABLE = [
    ("shopify_email.opened() = true", "shopify_email.opened"),
    ("shopify_email.opened MATCHES ()", "shopify_email.opened"),
    ("product_subscription_status = 'SUBSCRIBED'", "product_subscription_status"),
    ("storefront_event.product_viewed MATCHES ()", "storefront_event.product_viewed"),
]


def test_there_are_more_than_thirty_real_strings() -> None:
    assert len(SUPPORTED) + len(PARSE_ONLY) + len(NOT_AVAILABLE) >= 30


def test_supported_strings_select_the_expected_customers(
    session: Session, settings: Settings
) -> None:
    shop: Shop = build_store(session, settings)
    got = {query: members(session, shop, query) for query, _ in SUPPORTED}
    wrong = {q: (got[q], e) for q, e in SUPPORTED if got[q] != e}
    assert wrong == {}


@pytest.mark.parametrize("query,canonical", PARSE_ONLY)
def test_strings_parse_to_their_canonical_form(query: str, canonical: str) -> None:
    assert parse_query(query).canonical == canonical


@pytest.mark.parametrize("query,name", NOT_AVAILABLE)
def test_filters_without_data_fail_with_their_name(query: str, name: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    assert caught.value.message == f"not available in this app: {name}"


def test_deprecated_forms_come_back_canonical_with_a_notice() -> None:
    for query, _ in SUPPORTED:
        parsed = parse_query(query)
        assert parse_query(parsed.canonical).canonical == parsed.canonical
        called = ") = " in query and not query.startswith("anniversary")
        old = "_ago" in query or called or "FROM" in query or "quantity" in query
        assert bool(parsed.notices) == old, query
