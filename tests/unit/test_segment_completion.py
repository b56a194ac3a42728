"""Autocomplete of the segment language: what the grammar and the catalogue allow at the
cursor, and values from a stand-in for the shop's data."""

from __future__ import annotations

import pytest

from plugin.segments.catalogue import FIELDS, FUNCTIONS
from plugin.segments.completion import Completion, complete

TAGS = [("vip", 12, ""), ("vip-2025", 3, ""), ("wholesale", 1, "")]


def shop_values(source: str, prefix: str, limit: int) -> list[tuple[str, int, str]]:
    assert limit > 0
    if source != "customer_tags.tag":
        return []
    return [t for t in TAGS if t[0].startswith(prefix.lower())]


def texts(completion: Completion) -> list[str]:
    return [s.text for s in completion.suggestions]


def test_at_the_start_every_field_and_function_is_offered() -> None:
    found = complete("", limit=500)
    shapes = {"metafields.", "anniversary('metafields."}
    assert set(texts(found)) == set(FIELDS) | set(FUNCTIONS) | shapes
    kinds = {s.text: s.kind for s in found.suggestions}
    assert kinds["number_of_orders"] == "field" and kinds["orders_placed"] == "function"


def test_a_partial_name_is_completed_and_replaced_from_its_start() -> None:
    found = complete("amount_spent > 10 AND number_of_or")
    assert texts(found) == ["number_of_orders"]
    assert (found.start, found.end) == (22, 34)


def test_operators_follow_the_fields_type() -> None:
    assert texts(complete("number_of_orders ")) == [
        "=", "!=", "<", "<=", ">", ">=", "BETWEEN", "IS NULL", "IS NOT NULL", "IN (", "NOT IN (",
    ]  # fmt: skip
    assert texts(complete("customer_tags ")) == [
        "CONTAINS", "NOT CONTAINS", "IS NULL", "IS NOT NULL",
    ]  # fmt: skip
    assert texts(complete("email_subscription_status ")) == [
        "=", "!=", "IN (", "NOT IN (", "IS NULL", "IS NOT NULL",
    ]  # fmt: skip
    assert texts(complete("products_purchased ")) == ["MATCHES (", "NOT MATCHES ("]


def test_metafields_offer_the_shops_names_then_their_operators() -> None:
    def names(source: str, prefix: str, limit: int) -> list[tuple[str, int, str]]:
        found = [("facts.birth_date", 40, "date"), ("custom.points", 7, "number")]
        return [n for n in found if n[0].startswith(prefix)] if source.endswith(".name") else []

    assert texts(complete("metafields.f", values=names)) == ["metafields.facts.birth_date"]
    assert texts(complete("metafields.", values=names)) == [
        "metafields.facts.birth_date", "metafields.custom.points",
    ]  # fmt: skip
    assert texts(complete("metafields.custom.points ")) == [
        "=", "!=", "<", "<=", ">", ">=", "BETWEEN", "CONTAINS", "NOT CONTAINS", "IS NULL",
        "IS NOT NULL",
    ]  # fmt: skip
    assert texts(complete("anniv")) == ["anniversary('metafields."]


def test_the_second_word_of_an_operator() -> None:
    assert texts(complete("amount_spent IS ")) == ["NULL", "NOT NULL"]
    assert texts(complete("customer_tags NOT ")) == ["CONTAINS"]
    assert texts(complete("number_of_orders >")) == [">="]


def test_enum_values_are_quoted_and_filtered_by_what_is_typed() -> None:
    assert texts(complete("email_subscription_status = ")) == [
        f"'{v}'" for v in FIELDS["email_subscription_status"].enum_values
    ]
    found = complete("email_subscription_status = 'UNS")
    assert texts(found) == ["'UNSUBSCRIBED'"]
    assert found.start == len("email_subscription_status = ")


def test_dates_offer_offsets_and_booleans_true_or_false() -> None:
    assert "-30d" in texts(complete("last_order_date < "))
    assert texts(complete("last_order_date BETWEEN -90d AND ")) == texts(
        complete("last_order_date < ")
    )


def test_the_shops_values_come_from_the_provider_most_common_first() -> None:
    found = complete("customer_tags CONTAINS 'vi", values=shop_values)
    assert texts(found) == ["'vip'", "'vip-2025'"]
    assert [s.count for s in found.suggestions] == [12, 3]
    assert complete("customer_tags CONTAINS ", values=None).suggestions == ()


def test_a_value_with_a_quote_is_escaped() -> None:
    def quoting(source: str, prefix: str, limit: int) -> list[tuple[str, int, str]]:
        return [("o'brien", 2, "")]

    assert texts(complete("customer_tags CONTAINS ", values=quoting)) == ["'o\\'brien'"]


def test_inside_matches_the_unused_parameters_then_their_operators_and_values() -> None:
    spec = FUNCTIONS["products_purchased"]
    assert texts(complete("products_purchased MATCHES (")) == list(spec.param_names)
    used = complete("products_purchased MATCHES (date >= -30d, ")
    assert "date" not in texts(used) and "count" in texts(used)
    assert texts(complete("products_purchased MATCHES (id ")) == ["=", "IN (", "NOT IN ("]
    assert "-30d" in texts(complete("orders_placed MATCHES (date >= "))


def test_after_a_condition_and_or_and_a_closing_parenthesis() -> None:
    assert texts(complete("number_of_orders >= 3 ")) == ["AND", "OR"]
    assert texts(complete("(number_of_orders >= 3 ")) == ["AND", "OR", ")"]
    assert texts(complete("number_of_orders >= 3 a")) == ["AND"]


def test_the_cursor_in_the_middle_completes_what_is_before_it() -> None:
    text = "number_of_or >= 3 AND amount_spent > 10"
    found = complete(text, cursor=len("number_of_or"))
    assert texts(found) == ["number_of_orders"] and (found.start, found.end) == (0, 12)


@pytest.mark.parametrize("text", ["number_of_orders >= >= ", "'unclosed AND ", "x = = 1 AND "])
def test_nothing_is_offered_after_an_error(text: str) -> None:
    assert complete(text).suggestions == ()


def test_the_number_of_suggestions_is_limited_and_oversized_text_gets_none() -> None:
    assert len(complete("").suggestions) == 20
    assert complete("a" * 6000).suggestions == ()
