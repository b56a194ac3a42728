"""The segment query language: parsing, canonical printing, checks and error positions."""

from __future__ import annotations

import contextlib
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark

from plugin.errors import ValidationError
from plugin.segments import ast
from plugin.segments.catalogue import FIELDS, FUNCTIONS
from plugin.segments.errors import QueryError
from plugin.segments.parser import interactive, lark_parser, parse_query
from plugin.segments.printer import to_text


def canonical(text: str) -> str:
    return parse_query(text).canonical


def error_of(text: str) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    return caught.value


def test_and_binds_tighter_than_or() -> None:
    node = parse_query("number_of_orders > 1 or vip = true and amount_spent > 5").ast
    assert isinstance(node, ast.Or)
    assert isinstance(node.items[1], ast.And)
    assert canonical("(vip = true OR vip = false) and amount_spent > 5") == (
        "(vip = true OR vip = false) AND amount_spent > 5"
    )


def test_between_takes_its_own_and() -> None:
    node = parse_query("amount_spent BETWEEN 1 AND 2 AND vip = true OR vip = false").ast
    assert node == ast.Or(
        (
            ast.And(
                (
                    ast.Between("amount_spent", ast.Num(Decimal(1)), ast.Num(Decimal(2))),
                    ast.Comparison("vip", "=", ast.Bool(True)),
                )
            ),
            ast.Comparison("vip", "=", ast.Bool(False)),
        )
    )


def test_values_are_typed() -> None:
    node = parse_query(
        "amount_spent BETWEEN 100 AND 999.99 AND last_order_date = 2024-02-29 "
        "AND first_order_date > 2024-01-01T10:30:00 AND customer_added_date >= -24h "
        "AND abandoned_checkout_date = yesterday"
    ).ast
    assert isinstance(node, ast.And)
    assert node.items == (
        ast.Between("amount_spent", ast.Num(Decimal("100")), ast.Num(Decimal("999.99"))),
        ast.Comparison("last_order_date", "=", ast.AbsDate(date(2024, 2, 29))),
        ast.Comparison("first_order_date", ">", ast.AbsDateTime(datetime(2024, 1, 1, 10, 30))),
        ast.Comparison("customer_added_date", ">=", ast.RelDate(-24, "h")),
        ast.Comparison("abandoned_checkout_date", "=", ast.NamedDay("yesterday")),
    )


def test_enum_values_match_case_insensitively_and_print_in_shopify_spelling() -> None:
    assert canonical("email_subscription_status = 'subscribed'") == (
        "email_subscription_status = 'SUBSCRIBED'"
    )
    assert canonical("RFM_GROUP in ('needs_attention', 'Champions')") == (
        "rfm_group IN ('NEEDS_ATTENTION', 'CHAMPIONS')"
    )


def test_places_take_shopify_values_and_list_operators() -> None:
    node = parse_query(
        "customer_cities CONTAINS 'US-CA-LosAngeles' AND customer_regions NOT CONTAINS 'US-NY' "
        "AND customer_countries IS NOT NULL"
    ).ast
    assert node == ast.And(
        (
            ast.Contains("customer_cities", ast.Str("US-CA-LosAngeles")),
            ast.Contains("customer_regions", ast.Str("US-NY"), negated=True),
            ast.IsNull("customer_countries", negated=True),
        )
    )
    assert parse_query(to_text(node)).ast == node
    assert "takes CONTAINS, IS NULL" in error_of("customer_cities = 'US-CA-LosAngeles'").message
    assert "takes CONTAINS, IS NULL" in error_of("customer_regions IN ('US-CA')").message


def test_sms_status_is_an_enum_with_shopify_values() -> None:
    assert canonical("sms_subscription_status = 'subscribed'") == (
        "sms_subscription_status = 'SUBSCRIBED'"
    )
    assert canonical("sms_subscription_status not in ('pending', 'Redacted')") == (
        "sms_subscription_status NOT IN ('PENDING', 'REDACTED')"
    )
    assert canonical("sms_subscription_status is null") == "sms_subscription_status IS NULL"
    # email has INVALID, SMS does not
    assert "has no value 'INVALID'" in error_of("sms_subscription_status = 'INVALID'").message


def test_escaped_quotes_and_backslashes_survive_a_round_trip() -> None:
    node = parse_query(r"customer_tags CONTAINS 'it\'s \\ ok'").ast
    assert node == ast.Contains("customer_tags", ast.Str("it's \\ ok"))
    assert parse_query(to_text(node)).ast == node


def test_deprecated_function_form_is_rewritten_with_a_notice() -> None:
    parsed = parse_query("products_purchased(id: (1012, 1013), date: 30_days_ago) = true")
    assert parsed.canonical == "products_purchased MATCHES (id IN (1012, 1013), date >= -30d)"
    assert any("deprecated" in n and "products_purchased" in n for n in parsed.notices)
    assert any("30_days_ago" in n for n in parsed.notices)
    negated = parse_query("products_purchased(tag: 'sale') = false")
    assert negated.canonical == "products_purchased NOT MATCHES (tag = 'sale')"


def test_named_dates_become_offsets() -> None:
    parsed = parse_query("last_order_date >= 12_months_ago")
    assert parsed.canonical == "last_order_date >= -12m"
    assert parsed.notices


def test_pasted_from_customers_wrapper_is_stripped() -> None:
    text = (
        "FROM customers\nSHOW customer_name, amount_spent\n"
        "WHERE amount_spent > 10 AND number_of_orders = 1\nORDER BY updated_at DESC"
    )
    parsed = parse_query(text)
    assert parsed.canonical == "amount_spent > 10 AND number_of_orders = 1"
    assert parsed.notices


def test_wrapper_keeps_error_positions_in_the_original_text() -> None:
    error = error_of("FROM customers SHOW a\nWHERE amount_spnt > 10")
    assert (error.line, error.column) == (2, 7)


@pytest.mark.parametrize(
    "text",
    [
        "number_of_orders >= 3 AND amount_spent > 500",
        "products_purchased NOT MATCHES (product_type IN ('a', 'b'), date BETWEEN -30d AND today)",
        "orders_placed MATCHES (count >= 2, sum_amount > 100.5)",
        "abandoned_checkouts MATCHES ()",
        "customer_tags NOT CONTAINS 'vip' OR customer_countries IS NULL",
        "(vip = true OR rfm_r IN (4, 5)) AND lifecycle_stage != 'AT_RISK'",
    ],
)
def test_canonical_text_is_a_fixed_point(text: str) -> None:
    first = parse_query(text)
    assert first.canonical == text
    assert parse_query(first.canonical).ast == first.ast


def test_unknown_field_names_position_and_nearest_name() -> None:
    error = error_of("number_of_orders > 1 AND\n  amount_spnt > 5")
    assert (error.line, error.column) == (2, 3)
    assert "unknown field 'amount_spnt'" in error.detail
    assert "did you mean 'amount_spent'" in error.detail
    assert isinstance(error, ValidationError)


def test_wrong_value_type_is_refused_at_the_value() -> None:
    error = error_of("number_of_orders >= 'three'")
    assert error.column == 21
    assert "whole number" in error.detail
    assert "date" in error_of("last_order_date > 5").detail
    assert "does not take CONTAINS" in error_of("amount_spent CONTAINS '5'").detail
    assert "no value 'GOLD'" in error_of("rfm_group = 'GOLD'").detail


def test_unbalanced_parenthesis_says_what_was_expected() -> None:
    error = error_of("(number_of_orders > 1 OR vip = true")
    assert "expected ')'" in error.detail
    assert (error.line, error.column) == (1, 36)
    # exactly what may follow here, not LALR's merged lookahead (no "',' or ')'")
    assert error_of("number_of_orders > 1)").message == (
        "unexpected ')'; expected the end of the query, AND or OR"
    )
    assert error_of("products_purchased MATCHES (id = 1").message == (
        "unexpected end of the query; expected ')' or ','"
    )


def test_an_unclosed_quote_points_at_its_opening() -> None:
    error = error_of("customer_tags CONTAINS 'vip")
    assert "closing quote is missing" in error.message
    assert error.column == 24


def test_missing_operator_lists_the_operators() -> None:
    error = error_of("number_of_orders 5")
    assert error.column == 18
    assert "an operator (=, !=, <, <=, >, >=)" in error.detail


def test_depth_fifty_is_refused_with_a_position() -> None:
    error = error_of("(" * 50 + "vip = true" + ")" * 50)
    assert "deeper than 10" in error.detail
    assert error.column == 11
    assert parse_query("(" * 10 + "vip = true" + ")" * 10).ast == ast.Comparison(
        "vip", "=", ast.Bool(True)
    )


def test_ten_kilobytes_of_garbage_is_refused() -> None:
    error = error_of("#%&garbage " * 1000)
    assert "limit is 5120" in error.detail


def test_garbage_under_the_size_limit_fails_with_a_position() -> None:
    garbage = "".join(chr(33 + (i * 7919) % 90) for i in range(4000))
    error = error_of(garbage)
    assert error.line == 1 and 1 <= error.column <= len(garbage)
    assert "unexpected" in error.detail or "unknown" in error.detail


def test_dates_outside_the_calendar_we_can_shift_are_refused() -> None:
    assert "out of range" in error_of("last_order_date <= 9999-12-31").detail
    assert "out of range" in error_of("last_order_date > -100000y").detail
    assert "not a valid date" in error_of("last_order_date = 2026-02-30").detail


def test_in_lists_hold_at_most_500_values() -> None:
    ok = "number_of_orders IN (" + ", ".join(str(i) for i in range(500)) + ")"
    assert len(parse_query(ok).ast.values) == 500  # type: ignore[union-attr]
    error = error_of("number_of_orders IN (" + ", ".join(str(i) for i in range(501)) + ")")
    assert "at most 500" in error.detail


@pytest.mark.parametrize(
    "text,name",
    [
        ("shopify_email.opened MATCHES (activity_id = 5)", "shopify_email.opened"),
        ("storefront_event.product_viewed MATCHES ()", "storefront_event.product_viewed"),
    ],
)
def test_filters_without_data_are_named(text: str, name: str) -> None:
    assert error_of(text).message == f"not available in this app: {name}"


@pytest.mark.parametrize(
    "text,canonical",
    [
        ("metafields.custom.points >= 100", "metafields.custom.points >= 100"),
        ("Metafields.custom.Points = 1.50", "metafields.custom.Points = 1.5"),
        ("metafields.custom.vip != TRUE", "metafields.custom.vip != true"),
        ("metafields.custom.nick = 'Ala'", "metafields.custom.nick = 'Ala'"),
        ("metafields.custom.tags NOT CONTAINS 'x'", "metafields.custom.tags NOT CONTAINS 'x'"),
        ("metafields.custom.sizes CONTAINS 42", "metafields.custom.sizes CONTAINS 42"),
        ("metafields.facts.birth_date BETWEEN -30y AND today", None),
        ("metafields.custom.since >= 30_days_ago", "metafields.custom.since >= -30d"),
        ("metafields.custom.x IS NOT NULL", "metafields.custom.x IS NOT NULL"),
        (
            "anniversary(date: 'metafields.facts.birth_date') BETWEEN today AND +30d",
            "anniversary('metafields.facts.birth_date') BETWEEN today AND +30d",
        ),
        (
            "anniversary ( 'metafields.facts.birth_date' ) = 2024-02-29",
            "anniversary('metafields.facts.birth_date') = 2024-02-29",
        ),
        ("anniversary('metafields.facts.birth_date') != yesterday", None),
        ("anniversary('metafields.my-app.day-1') IS NULL", None),
    ],
)
def test_metafields_and_anniversary_parse_to_their_canonical_text(
    text: str, canonical: str | None
) -> None:
    parsed = parse_query(text)
    assert parsed.canonical == (canonical or text)
    assert parse_query(parsed.canonical).ast == parsed.ast


@pytest.mark.parametrize(
    "text,detail",
    [
        ("metafields.custom = 1", "is not a metafield"),
        ("metafields.a.b.c = 1", "is not a metafield"),
        ("metafields.custom.nick > 'x'", "does not take >"),
        ("metafields.custom.vip < true", "does not take <"),
        ("metafields.custom.x IN (1, 2)", "does not take IN"),
        ("metafields.custom.x BETWEEN 1 AND today", "two numbers or two dates"),
        ("metafields.custom.x = nope", "compares with a string, a number, a date"),
        ("anniversary('birth_date') = today", "a metafield's name in quotes"),
        ("anniversary(day: 'metafields.facts.birth_date') = today", "a metafield's name"),
        ("anniversary('metafields.facts.birth_date') >= today", "does not take >="),
        ("anniversary('metafields.facts.birth_date') = -24h", "whole days"),
        ("anniversary('metafields.facts.birth_date') = 'x'", "expects a date"),
        ("products_purchased('x') = true", "name: value parameters"),
        ("orders_placed(date: -1d) BETWEEN 1 AND 2", "expects = true or = false"),
    ],
)
def test_metafield_and_anniversary_mistakes_are_explained(text: str, detail: str) -> None:
    assert detail in error_of(text).detail


def test_function_parameters_are_checked_against_the_function() -> None:
    assert "has no parameter 'qty'" in error_of("products_purchased MATCHES (qty = 1)").detail
    assert "sum_amount" in error_of("orders_placed MATCHES (sum_amnt > 1)").detail
    assert "is a function" in error_of("orders_placed = 1").detail


INJECTIONS = ["'; DROP TABLE customers; --", "1' OR '1'='1", "x\\' OR 1=1 --", "Robert'); --"]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_strings_are_plain_string_literals(payload: str) -> None:
    quoted = "'" + payload.replace("\\", "\\\\").replace("'", "\\'") + "'"
    node = parse_query(f"customer_tags CONTAINS {quoted}").ast
    assert node == ast.Contains("customer_tags", ast.Str(payload))
    # pasted without escaping: refused, or still one literal, never a second condition
    try:
        raw = parse_query(f"customer_tags CONTAINS '{payload}'").ast
    except QueryError as error:
        assert error.line == 1
    else:
        assert isinstance(raw, ast.Contains)


def test_accepts_after_a_field_lists_the_comparison_operators() -> None:
    accepts = interactive("number_of_orders ").accepts()
    assert {"CMP_OP", "BETWEEN", "IN", "IS", "NOT"} <= accepts
    assert "NUMBER" not in accepts


# Names drawn from the catalogue (and a few that are not), so sentences reach the checks.
NAMES = st.sampled_from(
    [*FIELDS, *FUNCTIONS, "id", "tag", "date", "count", "today", "true", "nope", "anniversary"]
)
# Literal terminals from small pools: regex generation would spend the time on them.
TERMINALS = {
    "NAME": NAMES,
    "STRING": st.sampled_from(["'vip'", "'it\\'s'", "'Ż'", "'SUBSCRIBED'", "''"]),
    "NUMBER": st.sampled_from(["0", "1", "2.5", "-3", "500.505"]),
    "DATE": st.sampled_from(["2026-02-28", "2024-02-29", "2026-02-30"]),
    "DATETIME": st.sampled_from(["2026-03-29T02:30:00", "2026-01-01T10:00"]),
    "RELDATE": st.sampled_from(["-30d", "+1w", "-1m", "-24h", "-1y"]),
    "NAMED_DATE": st.sampled_from(["30_days_ago", "12_months_ago"]),
}
QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


@settings(max_examples=15, suppress_health_check=QUIET, deadline=None)
@given(from_lark(lark_parser(), start="start", explicit=TERMINALS))
def test_any_sentence_of_the_grammar_parses_or_fails_with_a_query_error(text: str) -> None:
    try:
        parsed = parse_query(text)
    except QueryError as error:
        assert error.line >= 1 and error.column >= 1
    else:
        assert parse_query(parsed.canonical).ast == parsed.ast


@settings(max_examples=30, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes_the_parser(text: str) -> None:
    with contextlib.suppress(QueryError):
        parse_query(text)


# --- issue 13 part B: Shopify's products_purchased / orders_placed parameters, Shopify's
# rfm_group and predicted_spend_tier beside our rfm_segment


def test_products_purchased_takes_shopifys_category_and_keeps_our_extensions() -> None:
    text = (
        "products_purchased MATCHES (category IN ('gid://shopify/TaxonomyCategory/aa-1', "
        "'hg-11'), product_type = 'Shoes', vendor = 'Acme', sum_quantity >= 2)"
    )
    node = parse_query(text).ast
    assert isinstance(node, ast.Matches)
    assert [p.field for p in node.params] == ["category", "product_type", "vendor", "sum_quantity"]
    assert canonical(text) == text
    wrong = error_of("products_purchased MATCHES (category = 1)")
    assert "quoted taxonomy category" in wrong.detail
    assert "does not take <" in error_of("products_purchased MATCHES (category < 'aa')").detail
    extensions = {p.name for p in FUNCTIONS["products_purchased"].params if p.extension}
    assert extensions == {"product_type", "vendor"}


def test_orders_placed_takes_location_id_and_app_id_as_whole_numbers() -> None:
    node = parse_query("orders_placed MATCHES (location_id = 7423, app_id IN (1354745, 580111))")
    assert isinstance(node.ast, ast.Matches)
    assert node.ast.params == (
        ast.Comparison("location_id", "=", ast.Num(Decimal(7423))),
        ast.InList("app_id", (ast.Num(Decimal(1354745)), ast.Num(Decimal(580111)))),
    )
    assert (
        "expects an id (a whole number)"
        in error_of("orders_placed MATCHES (app_id = 'pos')").detail
    )


@pytest.mark.parametrize(
    "text,name",
    [
        ("orders_placed MATCHES (location_id = 1, location_id = 2)", "location_id"),
        ("orders_placed MATCHES (date >= -7d, app_id = 1, app_id IN (2))", "app_id"),
        ("orders_placed NOT MATCHES (app_id = 1,\n  app_id != 2)", "app_id"),
        ("orders_placed(location_id: 1, location_id: 2) = true", "location_id"),
    ],
)
def test_a_repeated_once_only_parameter_is_refused_at_the_repeat(text: str, name: str) -> None:
    error = error_of(text)
    assert error.message == f"orders_placed takes {name} at most once"
    repeat = text.rindex(name)  # the second occurrence, 1-based line and column
    assert (error.line, error.column) == (
        text.count("\n", 0, repeat) + 1,
        repeat - text.rfind("\n", 0, repeat),
    )


def test_other_parameters_may_still_repeat() -> None:
    text = "orders_placed MATCHES (date >= -30d, date < -7d, location_id = 1)"
    assert canonical(text) == text


def test_rfm_group_is_shopifys_with_a_notice_and_rfm_segment_is_ours() -> None:
    parsed = parse_query("rfm_group = 'champions' OR rfm_group IS NULL")
    assert parsed.canonical == "rfm_group = 'CHAMPIONS' OR rfm_group IS NULL"
    assert len(parsed.notices) == 1 and "rfm_segment" in parsed.notices[0]
    ours = parse_query("rfm_segment IN ('at_risk', 'dormant')")
    assert ours.canonical == "rfm_segment IN ('AT_RISK', 'DORMANT')" and ours.notices == ()
    assert FIELDS["rfm_group"].shopify_alias == "rfm_group"
    assert FIELDS["rfm_segment"].shopify_alias is None


def test_predicted_spend_tier_takes_shopifys_three_tiers() -> None:
    assert canonical("predicted_spend_tier IN ('high', 'Low')") == (
        "predicted_spend_tier IN ('HIGH', 'LOW')"
    )
    assert "expected one of HIGH, MEDIUM, LOW" in error_of("predicted_spend_tier = 'TOP'").detail
