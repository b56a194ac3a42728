"""The one field catalogue: parser checks, compiler, docs and autocomplete all read it.

Functions and the unavailable Shopify filters live in `lang_functions` and are re-exported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plugin.segments.lang_functions import (
    FUNCTIONS,
    NOT_AVAILABLE,
    NOT_AVAILABLE_PREFIXES,
    FunctionSpec,
    ParamSpec,
    not_available,
)

# Field types and the operators each accepts ("IS NULL" covers IS NOT NULL, "IN" NOT IN,
# "CONTAINS" NOT CONTAINS; "!=" is the negation of "=").
ORDERED_OPS = ("=", "!=", "<", "<=", ">", ">=", "BETWEEN", "IS NULL")
OPERATORS: dict[str, tuple[str, ...]] = {
    "integer": (*ORDERED_OPS, "IN"),
    "number": ORDERED_OPS,
    "money": ORDERED_OPS,
    "date": ORDERED_OPS,
    "string": ("=", "!=", "IN", "IS NULL"),
    "enum": ("=", "!=", "IN", "IS NULL"),
    "string_list": ("CONTAINS", "IS NULL"),
    "id_list": ("CONTAINS", "IS NULL"),
    "boolean": ("=", "!=", "IS NULL"),
    # a metafield's operators depend on its kind (the literal's): see PATTERNS
    "metafield": ("=", "!=", "<", "<=", ">", ">=", "BETWEEN", "CONTAINS", "IS NULL"),
    "anniversary": ("=", "!=", "BETWEEN", "IS NULL"),
}
DIMENSIONS = ("geographic", "demographic", "behavioural", "psychographic", "predictive")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    description: str
    example: str
    dimension: str
    computed_by: str = "event"  # event | sweep | model | import (the platform's own value)
    value_source: str | None = None  # where suggestions come from (autocomplete)
    shopify_alias: str | None = None  # Shopify's filter name when the field is Shopify's
    platforms: tuple[str, ...] = ("shopify",)
    enum_values: tuple[str, ...] = ()
    # compared case-insensitively: the expression is casefolded, the literal is too
    casefold: bool = False


def _shopify(
    name: str, type_: str, description: str, example: str, dimension: str, **kw: Any
) -> FieldSpec:
    """A Shopify filter we support under its own name."""
    return FieldSpec(name, type_, description, example, dimension, shopify_alias=name, **kw)


SMS_STATES = ("SUBSCRIBED", "NOT_SUBSCRIBED", "PENDING", "UNSUBSCRIBED", "REDACTED")
EMAIL_STATES = ("SUBSCRIBED", "NOT_SUBSCRIBED", "PENDING", "UNSUBSCRIBED", "REDACTED", "INVALID")
ACCOUNT_STATES = ("ENABLED", "DISABLED", "INVITED", "DECLINED")
RFM_GROUPS = (
    "CHAMPIONS",
    "LOYAL",
    "ACTIVE",
    "NEEDS_ATTENTION",
    "PROMISING",
    "NEW",
    "AT_RISK",
    "PREVIOUSLY_LOYAL",
    "ALMOST_LOST",
    "DORMANT",
    "PROSPECTS",
)
SPEND_TIERS = ("HIGH", "MEDIUM", "LOW")  # Shopify's CustomerPredictedSpendTier
LIFECYCLE_STAGES = ("PROSPECT", "NEW", "ACTIVE", "REGULAR", "AT_RISK", "INACTIVE")
PREDICTION_KINDS = ("MODEL", "HEURISTIC")

_FIELDS: tuple[FieldSpec, ...] = (
    _shopify(
        "amount_spent",
        "money",
        "Net spend over counted orders, in the shop currency.",
        "amount_spent >= 500",
        "behavioural",
    ),
    _shopify(
        "number_of_orders",
        "integer",
        "Counted orders (not test, not cancelled).",
        "number_of_orders >= 3",
        "behavioural",
    ),
    _shopify(
        "first_order_date",
        "date",
        "When the first counted order was placed.",
        "first_order_date >= -30d",
        "behavioural",
    ),
    _shopify(
        "last_order_date",
        "date",
        "When the latest counted order was placed.",
        "last_order_date < -90d",
        "behavioural",
    ),
    _shopify(
        "customer_added_date",
        "date",
        "When the customer account was created.",
        "customer_added_date >= -7d",
        "behavioural",
    ),
    _shopify(
        "abandoned_checkout_date",
        "date",
        "The latest abandoned checkout's last activity.",
        "abandoned_checkout_date >= -7d",
        "behavioural",
    ),
    _shopify(
        "email_subscription_status",
        "enum",
        "Email marketing consent.",
        "email_subscription_status = 'SUBSCRIBED'",
        "behavioural",
        enum_values=EMAIL_STATES,
        value_source="enum",
    ),
    _shopify(
        "customer_account_status",
        "enum",
        "State of the customer account.",
        "customer_account_status = 'ENABLED'",
        "behavioural",
        enum_values=ACCOUNT_STATES,
        value_source="enum",
    ),
    _shopify(
        "customer_language",
        "string",
        "The customer's language (locale).",
        "customer_language = 'en'",
        "geographic",
        value_source="customers.locale",
    ),
    _shopify(
        "customer_email_domain",
        "string",
        "Domain of the customer's email address.",
        "customer_email_domain = 'gmail.com'",
        "demographic",
        value_source="customers.email_cf",
        casefold=True,
    ),
    _shopify(
        "rfm_group",
        "enum",
        "Shopify's own RFM group (Customer.statistics), imported; null until imported.",
        "rfm_group = 'NEEDS_ATTENTION'",
        "predictive",
        computed_by="import",
        enum_values=RFM_GROUPS,
        value_source="enum",
    ),
    _shopify(
        "predicted_spend_tier",
        "enum",
        "Shopify's predicted spend tier (Customer.statistics), imported; null until imported.",
        "predicted_spend_tier = 'HIGH'",
        "predictive",
        computed_by="import",
        enum_values=SPEND_TIERS,
        value_source="enum",
    ),
    _shopify(
        "customer_tags",
        "string_list",
        "The shop's own tags on the customer.",
        "customer_tags CONTAINS 'vip'",
        "psychographic",
        value_source="customer_tags.tag",
        casefold=True,
    ),
    _shopify(
        "customer_countries",
        "string_list",
        "Countries of any of the customer's addresses (ISO code).",
        "customer_countries CONTAINS 'PL'",
        "geographic",
        value_source="customer_addresses.country_code",
    ),
    _shopify(
        "customer_regions",
        "string_list",
        "States or provinces of any of the customer's addresses (country-province code).",
        "customer_regions CONTAINS 'US-CA'",
        "geographic",
        value_source="customer_addresses.region_key",
    ),
    _shopify(
        "customer_cities",
        "string_list",
        "Cities of any of the customer's addresses (country-province-city code; accents,"
        " spaces and case do not matter).",
        "customer_cities CONTAINS 'US-CA-LosAngeles'",
        "geographic",
        value_source="customer_addresses.city_key",
        casefold=True,
    ),
    _shopify(
        "companies",
        "id_list",
        "B2B companies the customer buys for, by company id (imported; Shopify Plus shops).",
        "companies CONTAINS 4001",
        "demographic",
        computed_by="import",
    ),
    _shopify(
        "sms_subscription_status",
        "enum",
        "SMS marketing consent (NULL: Shopify never stated one, e.g. no phone number).",
        "sms_subscription_status = 'SUBSCRIBED'",
        "behavioural",
        enum_values=SMS_STATES,
        value_source="enum",
    ),
    FieldSpec(
        "rfm_segment",
        "enum",
        "This app's RFM group: Shopify's group names over transparent cut-offs.",
        "rfm_segment = 'NEEDS_ATTENTION'",
        "predictive",
        computed_by="sweep",
        enum_values=RFM_GROUPS,
        value_source="enum",
    ),
    FieldSpec(
        "lifecycle_stage",
        "enum",
        "Exactly one stage per customer.",
        "lifecycle_stage = 'AT_RISK'",
        "behavioural",
        computed_by="sweep",
        enum_values=LIFECYCLE_STAGES,
        value_source="enum",
    ),
    FieldSpec(
        "rfm_r", "integer", "Recency score 1-5.", "rfm_r >= 4", "predictive", computed_by="sweep"
    ),
    FieldSpec(
        "rfm_f", "integer", "Frequency score 1-5.", "rfm_f >= 4", "predictive", computed_by="sweep"
    ),
    FieldSpec(
        "rfm_m", "integer", "Monetary score 1-5.", "rfm_m >= 4", "predictive", computed_by="sweep"
    ),
    FieldSpec(
        "vip",
        "boolean",
        "Spend in 365 days at or above the shop's 90th percentile.",
        "vip = true",
        "predictive",
        computed_by="sweep",
    ),
    FieldSpec(
        "order_gap_ratio",
        "number",
        "Days since last order ÷ own average interval.",
        "order_gap_ratio > 2",
        "predictive",
        computed_by="sweep",
    ),
    FieldSpec(
        "spent_365d",
        "money",
        "Net spend over counted orders in the last 365 days.",
        "spent_365d >= 1000",
        "behavioural",
        computed_by="sweep",
    ),
    FieldSpec(
        "orders_365d",
        "integer",
        "Counted orders in the last 365 days.",
        "orders_365d >= 2",
        "behavioural",
        computed_by="sweep",
    ),
    FieldSpec(
        "days_since_last_order",
        "integer",
        "Whole days since the last counted order.",
        "days_since_last_order > 90",
        "behavioural",
        computed_by="sweep",
    ),
    FieldSpec(
        "average_order_value",
        "money",
        "amount_spent ÷ number_of_orders.",
        "average_order_value >= 100",
        "behavioural",
    ),
    FieldSpec(
        "open_abandoned_checkout_at",
        "date",
        "Last activity of an abandoned checkout no order has closed yet.",
        "open_abandoned_checkout_at >= -3d",
        "behavioural",
        computed_by="sweep",
    ),
    FieldSpec(
        "discount_order_share",
        "number",
        "Share of counted orders with a discount.",
        "discount_order_share >= 0.5",
        "psychographic",
    ),
    FieldSpec(
        "churn_risk",
        "number",
        "Probability of no order in the next 90 days (0..1).",
        "churn_risk >= 0.66",
        "predictive",
        computed_by="model",
    ),
    FieldSpec(
        "p_alive",
        "number",
        "Probability the customer still buys from the shop at all (0..1).",
        "p_alive < 0.3",
        "predictive",
        computed_by="model",
    ),
    FieldSpec(
        "predicted_orders_90d",
        "number",
        "Expected orders in the next 90 days.",
        "predicted_orders_90d >= 1",
        "predictive",
        computed_by="model",
    ),
    FieldSpec(
        "expected_next_order_at",
        "date",
        "When the next order is expected: last order plus the expected interval.",
        "expected_next_order_at BETWEEN today AND +7d",
        "predictive",
        computed_by="model",
    ),
    FieldSpec(
        "predicted_clv",
        "money",
        "Predicted spend over the next 12 months (expected orders x expected order value).",
        "predicted_clv >= 200",
        "predictive",
        computed_by="model",
    ),
    FieldSpec(
        "predicted_clv_percentile",
        "integer",
        "1-100: share of scored customers with a lower predicted_clv, plus one.",
        "predicted_clv_percentile > 90",
        "predictive",
        computed_by="model",
    ),
    FieldSpec(
        "prediction_kind",
        "enum",
        "How the scores were made: the shop's fitted model or the customer's own rhythm.",
        "prediction_kind = 'MODEL'",
        "predictive",
        computed_by="model",
        enum_values=PREDICTION_KINDS,
        value_source="enum",
    ),
)
FIELDS: dict[str, FieldSpec] = {f.name: f for f in _FIELDS}
# Fields named by the shop's own data (its customer metafields), matched by their shape.
PATTERNS: dict[str, FieldSpec] = {
    f.name: f
    for f in (
        _shopify(
            "metafields.<namespace>.<key>",
            "metafield",
            "A customer metafield (text, number, date, date and time, true or false, or a list"
            " of them); the literal's kind says what is compared.",
            "metafields.custom.points_balance >= 100",
            "psychographic",
        ),
        _shopify(
            "anniversary('metafields.<namespace>.<key>')",
            "anniversary",
            "The month and day of a date metafield, whatever its year (birthdays).",
            "anniversary('metafields.facts.birth_date') BETWEEN today AND +30d",
            "demographic",
        ),
    )
}
# Names whose meaning changed: a query using one gets this notice (saved queries were
# rewritten by migration 0012; a pasted or API query may still mean the old field).
CHANGED_MEANING: dict[str, str] = {
    "rfm_group": "rfm_group is Shopify's own RFM group (imported); this app's computed group,"
    " which rfm_group meant before, is now rfm_segment",
}


def all_names() -> list[str]:
    """Every name a query may use, for suggestions."""
    return [*FIELDS, *FUNCTIONS]


__all__ = [
    "CHANGED_MEANING",
    "FIELDS",
    "FUNCTIONS",
    "NOT_AVAILABLE",
    "NOT_AVAILABLE_PREFIXES",
    "OPERATORS",
    "PATTERNS",
    "FieldSpec",
    "FunctionSpec",
    "ParamSpec",
    "all_names",
    "not_available",
]
