"""Every scalar segment field evaluates to hand-computed values on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.profiles.models import Customer
from plugin.segments import evaluator_language as language
from plugin.segments.context import CompileContext
from plugin.segments.fields import SCALAR_FIELDS, field_expression
from plugin.segments.lifecycle import STAGES, stage_bound
from plugin.shops.models import Shop
from tests.support.profiles import NOW

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
US = timedelta(microseconds=1)
CONTRACT = {
    "amount_spent", "number_of_orders", "first_order_date", "last_order_date",
    "customer_added_date", "abandoned_checkout_date", "email_subscription_status",
    "customer_account_status", "customer_language", "customer_email_domain", "rfm_segment",
    "rfm_group", "predicted_spend_tier", "lifecycle_stage", "rfm_r", "rfm_f", "rfm_m", "vip",
    "order_gap_ratio", "spent_365d",
    "orders_365d", "days_since_last_order", "average_order_value",
    "open_abandoned_checkout_at", "discount_order_share", "churn_risk", "p_alive",
    "predicted_orders_90d", "expected_next_order_at", "predicted_clv",
    "predicted_clv_percentile", "prediction_kind", "sms_subscription_status",
}  # fmt: skip


def add(session: Session, shop: Shop, key: str, **columns: Any) -> None:
    session.add(Customer(shop_id=shop.id, platform_id=key, **columns))


def buyer(orders: int, first: timedelta, last: timedelta, avg: float | None) -> dict[str, Any]:
    """A customer with `orders` orders, the first and last that long before NOW."""
    return {
        "orders_count": orders,
        "total_spent_minor": 1000 * orders,
        "first_order_at": NOW - first,
        "last_order_at": NOW - last,
        "avg_days_between_orders": avg,
    }


def values(session: Session, shop: Shop, field: str, now: datetime = NOW) -> dict[str, Any]:
    session.commit()
    expr = field_expression(field, CompileContext(shop.id, now))
    rows = session.execute(
        select(Customer.platform_id, expr).where(Customer.shop_id == shop.id)
    ).all()
    return dict(rows)


def test_every_contract_field_has_an_expression() -> None:
    assert SCALAR_FIELDS == CONTRACT
    with pytest.raises(KeyError):
        field_expression("customer_tags", CompileContext(1, NOW))


def test_stored_columns_come_back_as_stored(session: Session, shop: Shop) -> None:
    created = datetime(2025, 1, 2, 3, 4, 5, 600007, tzinfo=UTC)
    add(session, shop, "a", total_spent_minor=123456, orders_count=7, avg_order_value_minor=17637,
        platform_created_at=created, discount_order_share=0.25, spent_365d_minor=999,
        orders_365d=2, locale="pt-BR", last_abandoned_at=created)  # fmt: skip
    expected = {
        "amount_spent": 123456,
        "number_of_orders": 7,
        "average_order_value": 17637,
        "customer_added_date": created,
        "abandoned_checkout_date": created,
        "discount_order_share": 0.25,
        "spent_365d": 999,
        "orders_365d": 2,
        "customer_language": "pt-BR",
    }
    assert {f: values(session, shop, f)["a"] for f in expected} == expected


def test_enums_come_back_lowercase(session: Session, shop: Shop) -> None:
    add(session, shop, "a", email_marketing_state="SUBSCRIBED", state="Disabled")
    add(session, shop, "b", email_marketing_state="not_subscribed", state="enabled")
    add(session, shop, "c")
    assert values(session, shop, "email_subscription_status") == {
        "a": "subscribed",
        "b": "not_subscribed",
        "c": None,
    }
    assert values(session, shop, "customer_account_status") == {
        "a": "disabled",
        "b": "enabled",
        "c": None,
    }


def test_sms_status_is_null_until_shopify_states_one(session: Session, shop: Shop) -> None:
    add(session, shop, "a", sms_marketing_state="subscribed", phone="+48500000001")
    add(session, shop, "b", sms_marketing_state="REDACTED")
    add(session, shop, "c", phone="+48500000002")  # a phone, but no consent webhook yet
    assert values(session, shop, "sms_subscription_status") == {
        "a": "subscribed",
        "b": "redacted",
        "c": None,
    }


def test_email_domain_is_after_the_last_at(session: Session, shop: Shop) -> None:
    emails = {
        "plain": "ann@example.com",
        "quoted": '"a@b"@mail.example.org',
        "unicode": "żaneta@przykład.pl",
        "no_at": "nobody",
        "nothing_after": "ann@",
        "only_at": "@",
        "none": None,
    }
    for key, email in emails.items():
        add(session, shop, key, email_cf=email)
    assert values(session, shop, "customer_email_domain") == {
        "plain": "example.com",
        "quoted": "mail.example.org",
        "unicode": "przykład.pl",
        "no_at": None,
        "nothing_after": None,
        "only_at": None,
        "none": None,
    }


def test_days_since_last_order_counts_whole_days(session: Session, shop: Shop) -> None:
    add(session, shop, "exactly_90", **buyer(1, 90 * DAY, 90 * DAY, None))
    add(session, shop, "just_under_90", **buyer(1, 90 * DAY, 90 * DAY - US, None))
    add(session, shop, "today", **buyer(1, DAY, timedelta(0), None))
    add(session, shop, "prospect")
    assert values(session, shop, "days_since_last_order") == {
        "exactly_90": 90,
        "just_under_90": 89,
        "today": 0,
        "prospect": None,
    }


def test_order_gap_ratio_divides_by_the_own_rhythm(session: Session, shop: Shop) -> None:
    add(session, shop, "on_time", **buyer(3, 30 * DAY, 10 * DAY, 10.0))
    add(session, shop, "late", **buyer(3, 45 * DAY, 25 * DAY, 10.0))
    add(session, shop, "half_day", **buyer(2, 5 * DAY, DAY / 2, 2.0))
    add(session, shop, "same_instant", **buyer(2, DAY, DAY, 0.0))
    add(session, shop, "one_order", **buyer(1, DAY, DAY, None))
    assert values(session, shop, "order_gap_ratio") == {
        "on_time": 1.0,
        "late": 2.5,
        "half_day": 0.25,
        "same_instant": None,
        "one_order": None,
    }


def test_open_abandoned_checkout_is_cleared_by_a_later_order(session: Session, shop: Shop) -> None:
    t = NOW - 2 * DAY
    add(session, shop, "open", last_abandoned_at=t, last_order_at=t - US, orders_count=1)
    add(session, shop, "never_ordered", last_abandoned_at=t)
    add(session, shop, "ordered_after", last_abandoned_at=t, last_order_at=t + US, orders_count=1)
    add(session, shop, "ordered_same_instant", last_abandoned_at=t, last_order_at=t)
    add(session, shop, "none")
    assert values(session, shop, "open_abandoned_checkout_at") == {
        "open": t,
        "never_ordered": t,
        "ordered_after": None,
        "ordered_same_instant": None,
        "none": None,
    }


def lifecycle_customers() -> dict[str, tuple[dict[str, Any], str]]:
    """Customers at each branch's edges, with their stage. NOW is 12:00 UTC, so the
    shop-local day N days ago starts at NOW - N days - 12 h."""
    day_30, day_60, day_90 = (NOW - n * DAY - 12 * HOUR for n in (30, 60, 90))
    return {
        "prospect": ({}, "prospect"),
        # new wins over regular (3 orders) and the gap ratio (1 day since, 0.5-day rhythm)
        "new_regular": (buyer(3, NOW - day_30, DAY, 0.5), "new"),
        "not_new_before_day_30": (buyer(1, NOW - day_30 + US, NOW - day_30 + US, None), "active"),
        "inactive_before_day_90": (buyer(5, 400 * DAY, NOW - day_90 + US, 200.0), "inactive"),
        "inactive_ratio": (buyer(5, 100 * DAY, 31 * DAY, 15.0), "inactive"),
        "at_risk_on_day_90": (buyer(5, 400 * DAY, NOW - day_90, 200.0), "at_risk"),
        "at_risk_before_day_60_one_order": (buyer(1, 70 * DAY, NOW - day_60 + US, None), "at_risk"),
        "at_risk_ratio": (buyer(2, 50 * DAY, 16 * DAY, 10.0), "at_risk"),
        "ratio_exactly_2_is_at_risk": (buyer(2, 60 * DAY, 40 * DAY, 20.0), "at_risk"),
        "regular": (buyer(3, 40 * DAY, 5 * DAY, 10.0), "regular"),
        "active_two_orders": (buyer(2, 40 * DAY, 5 * DAY, 35.0), "active"),
        "active_on_day_60": (buyer(1, NOW - day_60, NOW - day_60, None), "active"),
        # counted orders without their times (not written so, but the CASE allows it)
        "regular_without_times": ({"orders_count": 3, "total_spent_minor": 10}, "regular"),
    }


def test_lifecycle_stage_takes_the_first_matching_branch(session: Session, shop: Shop) -> None:
    customers = lifecycle_customers()
    for key, (columns, _stage) in customers.items():
        add(session, shop, key, **columns)
    expected = {key: stage for key, (_columns, stage) in customers.items()}
    assert values(session, shop, "lifecycle_stage") == expected


@pytest.mark.parametrize("stages", [[s] for s in STAGES] + [["at_risk", "active"]])
def test_a_stage_bound_holds_for_every_customer_in_the_stage(
    session: Session, shop: Shop, stages: list[str]
) -> None:
    """The bound a preview of stages reads through the index keeps every customer in
    them, and (for a stage that has one) leaves out some that are not."""
    customers = lifecycle_customers()
    for key, (columns, _stage) in customers.items():
        add(session, shop, key, **columns)
    session.commit()
    ctx = CompileContext(shop.id, NOW)
    bound = stage_bound(ctx, stages)
    assert bound is not None
    within = set(session.scalars(select(Customer.platform_id).where(bound)))
    members = {key for key, (_columns, stage) in customers.items() if stage in stages}
    assert members <= within
    assert within < set(customers)
    rule = f"lifecycle_stage IN ({', '.join(repr(s.upper()) for s in stages)})"
    condition = language.predicate(language.parsed_ast(rule), ctx)
    assert "orders_count" in str(condition.compile(session.get_bind()))  # the bound leads
    found = set(session.scalars(select(Customer.platform_id).where(condition)))
    assert found == members


def test_lifecycle_days_are_the_shop_local_days(session: Session, shop: Shop) -> None:
    """In Kathmandu (+05:45) NOW is 17:45 on June 1 and day -90 (March 3) began at
    18:15 UTC on March 2; in UTC it began six hours later."""
    last = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    add(session, shop, "a", **buyer(2, NOW - last + DAY, NOW - last, 500.0))
    session.commit()
    stage = field_expression("lifecycle_stage", CompileContext(shop.id, NOW, "Asia/Kathmandu"))
    assert session.scalar(select(stage)) == "at_risk"
    assert values(session, shop, "lifecycle_stage") == {"a": "inactive"}


def test_relative_fields_follow_the_context_clock(session: Session, shop: Shop) -> None:
    add(session, shop, "a", **buyer(3, 31 * DAY, 10 * DAY, 10.0))
    later = NOW + 15 * DAY
    assert values(session, shop, "days_since_last_order", later) == {"a": 25}
    assert values(session, shop, "order_gap_ratio", later) == {"a": 2.5}
    assert values(session, shop, "lifecycle_stage", later) == {"a": "inactive"}
    assert values(session, shop, "lifecycle_stage") == {"a": "regular"}


def test_fields_read_only_the_context_shop_cut_offs(session: Session, shop: Shop) -> None:
    """A customer's RFM fields come from its own shop's row: none yet here, though another
    shop has one."""
    from plugin.segments.rfm_scores import recompute_rfm

    other = Shop(domain="beta.myshopify.com", install_state="installed")
    session.add(other)
    session.flush()
    add(session, other, "o", **buyer(1, DAY, DAY, None))
    add(session, shop, "a", **buyer(1, DAY, DAY, None))
    add(session, shop, "p")
    recompute_rfm(session, other.id, NOW)
    assert values(session, shop, "rfm_r") == {"a": None, "p": None}
    assert values(session, shop, "rfm_segment") == {"a": None, "p": "prospects"}
    assert values(session, shop, "vip") == {"a": False, "p": False}
    # one customer is every cut-off: no value exceeds one, so all scores are 1
    assert values(session, other, "rfm_segment") == {"o": "dormant"}


def test_shopifys_rfm_group_and_spend_tier_read_the_imported_values(
    session: Session, shop: Shop
) -> None:
    """Shopify's own values as Shopify writes them (compared lower case), NULL until the
    import brings them; our rfm_segment does not read them."""
    add(session, shop, "s", platform_rfm_group="AT_RISK", predicted_spend_tier="HIGH")
    add(session, shop, "n")
    assert values(session, shop, "rfm_group") == {"s": "at_risk", "n": None}
    assert values(session, shop, "predicted_spend_tier") == {"s": "high", "n": None}
    assert values(session, shop, "rfm_segment") == {"s": "prospects", "n": "prospects"}
