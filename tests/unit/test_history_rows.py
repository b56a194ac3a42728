"""Bulk JSONL lines → rows: the fast paths give what the general rules give, and a bad
line (not JSON, nested too deep, not an object) is refused with its position."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from plugin.errors import ValidationError
from plugin.events import make_version
from plugin.platforms.shopify.history_rows import (
    PREFIXES,
    _id,
    instant,
    minor,
    numeric_id,
    rows_from_lines,
    stamp,
)

GIDS = [
    "gid://shopify/Order/12",
    "gid://shopify/Order/12?x=1",  # a query string after the number: the regex keeps 12
    "gid://shopify/Order/A/12",
    "gid://shopify/Order/1²",  # a digit, but not 0-9
    "gid://shopify/LineItem/99",
    "gid://other/Order/12",
    "",
    None,
    12,
]


@pytest.mark.parametrize("gid", GIDS)
def test_the_quick_id_is_the_regex_id(gid) -> None:
    assert _id(gid, PREFIXES["order"]) == numeric_id(gid)


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00+00:00",
        "2026-01-01T02:30:00+02:00",
        "2026-01-01T00:00:00.123456Z",
        "2025-12-31T23:59:59-05:00",
    ],
)
def test_a_stamp_is_the_instant_of_a_source_version(value: str) -> None:
    expected = make_version(instant(value), None, "x").split("|")[0]
    assert stamp(value) == expected
    assert len(expected) == len("2026-01-01T00:00:00.000000Z")


def test_no_time_gives_no_stamp() -> None:
    assert stamp(None) is None and stamp("") is None


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [("12.34", "USD", 1234), ("-0.50", "EUR", -50), ("1200", "JPY", 1200), ("1200", "jpy", 1200)],
)
def test_money_in_minor_units(amount: str, currency: str, expected: int) -> None:
    assert minor({"shopMoney": {"amount": amount, "currencyCode": currency}}) == (
        expected,
        currency,
    )


def test_a_line_item_row() -> None:
    line = {
        "id": "gid://shopify/LineItem/7",
        "__parentId": "gid://shopify/Order/3",
        "title": "Mug",
        "vendor": "Acme",
        "quantity": 2,
        "product": {"id": "gid://shopify/Product/5"},
        "variant": None,
        "originalUnitPriceSet": {"shopMoney": {"amount": "9.99", "currencyCode": "USD"}},
        "discountAllocations": [
            {"allocatedAmountSet": {"shopMoney": {"amount": "1.00", "currencyCode": "USD"}}}
        ],
    }
    [(position, (kind, row))] = rows_from_lines([orjson.dumps(line)])
    assert (position, kind) == (0, "line")
    assert row == {
        "order_platform_id": "3",
        "platform_id": "7",
        "product_platform_id": "5",
        "variant_platform_id": None,
        "title": "Mug",
        "vendor": "Acme",
        "quantity": 2,
        "price_minor": 999,
        "discount_minor": 100,
    }


def test_an_order_row_keeps_times_as_stamps() -> None:
    order = {
        "id": "gid://shopify/Order/3",
        "customer": {"id": "gid://shopify/Customer/9"},
        "totalPriceSet": {"shopMoney": {"amount": "5.00", "currencyCode": "USD"}},
        "processedAt": "2026-01-02T03:04:05Z",
        "updatedAt": "2026-01-02T03:04:06Z",
    }
    [(_, (kind, row))] = rows_from_lines([orjson.dumps(order)])
    assert kind == "order" and row["customer_platform_id"] == "9"
    assert row["ordered_at"] == "2026-01-02T03:04:05.000000Z"
    assert datetime.fromisoformat(row["platform_updated_at"]) == datetime(
        2026, 1, 2, 3, 4, 6, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[1, 2]",
        b'{"id": "gid://shopify/Customer/1", "x": ' + b"[" * 2000 + b"]" * 2000 + b"}",
    ],
)
def test_a_bad_line_is_refused_with_its_position(raw: bytes) -> None:
    good = orjson.dumps({"id": "gid://shopify/Product/1", "title": "P"})
    with pytest.raises(ValidationError, match="history line 2"):
        list(rows_from_lines([good, raw]))


def test_lines_of_other_kinds_are_skipped() -> None:
    other = orjson.dumps({"id": "gid://shopify/Collection/1"})
    assert list(rows_from_lines([other])) == []
