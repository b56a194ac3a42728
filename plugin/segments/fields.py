"""The SQL expression of every scalar segment field, over `customers` (and the shop's VIP
threshold row): the compiler's one source of what a field name means."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, case, func, select

from plugin.predictions.models import Prediction
from plugin.profiles.models import Customer
from plugin.segments import lifecycle, rfm, time_fields
from plugin.segments.context import CompileContext

Builder = Callable[[CompileContext], ColumnElement[Any]]


def _column(column: Any) -> Builder:
    return lambda _ctx: column


def email_domain(email: Any) -> ColumnElement[str]:
    """The part after the last '@' (portable: rtrim by the set of every other character of
    the address leaves it up to its last '@'); null without an '@' or with nothing after."""
    through_at = func.rtrim(email, func.replace(email, "@", ""))
    after = func.nullif(func.substr(email, func.length(through_at) + 1), "")
    return case((func.length(through_at) > 0, after), else_=None)


def _predicted(column: Any) -> Builder:
    """A column of the customer's prediction row (NULL without one: no orders, or not
    scored yet); the row's primary key is (shop_id, customer_id)."""

    def build(ctx: CompileContext) -> ColumnElement[Any]:
        return (
            select(column)
            .where(Prediction.shop_id == ctx.shop_id, Prediction.customer_id == Customer.id)
            .correlate(Customer)
            .scalar_subquery()
        )

    return build


FIELDS: dict[str, Builder] = {
    "amount_spent": _column(Customer.total_spent_minor),
    "number_of_orders": _column(Customer.orders_count),
    "first_order_date": _column(Customer.first_order_at),
    "last_order_date": _column(Customer.last_order_at),
    "customer_added_date": _column(Customer.platform_created_at),
    "abandoned_checkout_date": time_fields.last_abandoned_at,
    # stored lowercase as Shopify sends them (subscribed, not_subscribed, …; enabled, …)
    "email_subscription_status": lambda _ctx: func.lower(Customer.email_marketing_state),
    "customer_account_status": lambda _ctx: func.lower(Customer.state),
    "sms_subscription_status": lambda _ctx: func.lower(Customer.sms_marketing_state),
    "customer_language": _column(Customer.locale),
    "customer_email_domain": lambda _ctx: email_domain(Customer.email_cf),
    # Shopify's own values, stored as Shopify writes them (upper case)
    "rfm_group": lambda _ctx: func.lower(Customer.platform_rfm_group),
    "predicted_spend_tier": lambda _ctx: func.lower(Customer.predicted_spend_tier),
    # ours, over the stored scores (plugin.segments.rfm_scores)
    "rfm_segment": lambda _ctx: rfm.rfm_group(),
    "rfm_r": lambda _ctx: rfm.rfm_score("r"),
    "rfm_f": lambda _ctx: rfm.rfm_score("f"),
    "rfm_m": lambda _ctx: rfm.rfm_score("m"),
    "vip": lambda ctx: rfm.vip(
        ctx.shop_id, time_fields.orders_365d(ctx), time_fields.spent_365d(ctx)
    ),
    "lifecycle_stage": lifecycle.lifecycle_stage,
    "order_gap_ratio": lifecycle.order_gap_ratio,
    "days_since_last_order": lifecycle.days_since_last_order,
    "spent_365d": time_fields.spent_365d,
    "orders_365d": time_fields.orders_365d,
    "average_order_value": _column(Customer.avg_order_value_minor),
    "open_abandoned_checkout_at": time_fields.open_abandoned_checkout_at,
    "discount_order_share": _column(Customer.discount_order_share),
    "churn_risk": _predicted(Prediction.churn_risk),
    "p_alive": _predicted(Prediction.p_alive),
    "predicted_orders_90d": _predicted(Prediction.predicted_orders_90d),
    "expected_next_order_at": _predicted(Prediction.expected_next_order_at),
    "predicted_clv": _predicted(Prediction.predicted_clv_minor),
    "predicted_clv_percentile": _predicted(Prediction.predicted_clv_percentile),
    "prediction_kind": _predicted(Prediction.prediction_kind),
}
SCALAR_FIELDS: frozenset[str] = frozenset(FIELDS)


# Conditions that every customer with one of the given values meets, over indexed columns
# (plugin.segments.lifecycle.stage_bound): the compiler adds them to `=` and IN.
BOUNDS: dict[str, Callable[[CompileContext, list[Any]], ColumnElement[bool] | None]] = {
    "lifecycle_stage": lifecycle.stage_bound,
}


def field_bound(name: str, values: list[Any], ctx: CompileContext) -> ColumnElement[bool] | None:
    """What a customer whose field `name` is one of `values` meets anyway, or None."""
    bound = BOUNDS.get(name)
    return bound(ctx, values) if bound is not None else None


def field_expression(name: str, ctx: CompileContext) -> ColumnElement[Any]:
    """The field as a SQL expression over `customers` of `ctx.shop_id` (the caller scopes
    the customers); relative time binds `ctx.now`. KeyError for a name that is not a
    scalar field."""
    return FIELDS[name](ctx)
