"""The plain-code order mapper gives exactly what the marshmallow schema gives, and leaves
to the schema every payload it does not fully understand (every invalid one included)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.cdnow import order_payload as cdnow_order
from benchmarks.cdnow import read_transactions
from plugin.errors import ValidationError
from plugin.platforms.shopify import payload_orders as po
from plugin.platforms.shopify.payload_fast import order_data
from plugin.platforms.shopify.payload_fields import load
from tests.support.profiles import FIXTURE_ROOT, customer_partial, line_item, order_payload

ORDER_FILES = sorted(
    p
    for p in FIXTURE_ROOT.rglob("*.json")
    if p.name.startswith("orders_") and "delete" not in p.name and "schemas" not in str(p)
)


def schema(payload: Any) -> Any:
    return load(po.OrderSchema(), payload, "orders/create")


def payloads() -> list[tuple[str, dict[str, Any]]]:
    found = [(str(p.relative_to(FIXTURE_ROOT)), json.loads(p.read_text())) for p in ORDER_FILES]
    found += [(f"cdnow-{tx.line}", cdnow_order(tx)) for tx in read_transactions(40)]
    at = "2026-01-02T03:04:05Z"
    discounted = [line_item("7", "10.00", discount="2.50")]
    found += [
        ("builder", order_payload("11", customer="5", total="9.99", updated_at=at)),
        ("guest", order_payload("12", customer=None, total="1.00", updated_at=at)),
        ("lines", order_payload("13", customer="6", total="7.50", updated_at=at, lines=discounted)),
        (
            "offset",
            order_payload("14", customer="6", total="1", updated_at="2026-01-02T03:04+02:00"),
        ),
    ]
    return found


def test_the_fixture_set_holds_orders() -> None:
    assert len(ORDER_FILES) >= 6


def _name(value: Any) -> str:
    return value if isinstance(value, str) else ""


@pytest.mark.parametrize(("name", "payload"), payloads(), ids=_name)
def test_plain_mapping_equals_the_schema(name: str, payload: dict[str, Any]) -> None:
    """Shopify's documented examples carry placeholders the schema refuses ("example
    string" amounts): those must go to the schema; everything it accepts maps equal."""
    if agrees_with_the_schema(payload, name):
        assert order_data(payload) is not None, f"{name}: the common shape needs no schema"


def agrees_with_the_schema(payload: dict[str, Any], where: Any) -> bool:
    """The plain mapping leaves to the schema what it refuses, and otherwise maps equal
    or leaves it too; True when the schema accepted the payload."""
    try:
        expected = schema(payload)
    except ValidationError:
        assert order_data(payload) is None, where
        return False
    fast = order_data(payload)
    assert fast is None or fast == expected, where
    return True


def test_most_examples_take_the_plain_path() -> None:
    mapped = [name for name, payload in payloads() if order_data(payload) is not None]
    assert len(mapped) >= 44


STRINGS = [
    "", "12.50", "1e3", "NaN", "USD", "usd", "PL", "abc", "2026-01-02", "2026-01-02T03:04:05",
    "2026-01-02T03:04:05Z", "2026-13-02T03:04:05Z", "gid://shopify/Order/12",
    "gid://shopify/Customer/5", "gid://shopify/LineItem/x", "enabled", "weird", "x" * 400,
]  # fmt: skip
KEYS = ["shop_money", "amount", "currency_code", "id", "code", "amount_set"]
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.sampled_from(STRINGS)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
    ),
    max_leaves=6,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            found += paths(item, (*prefix, n))
    return found


def base() -> dict[str, Any]:
    payload = order_payload(
        "77", customer="8", total="19.90", updated_at="2026-02-03T04:05:06Z",
        lines=[line_item("3", "9.95", discount="1.00"), line_item("4", "9.95")],
    )  # fmt: skip
    payload["customer"] = customer_partial("8", "c8@example.com")
    payload["refunds"] = [{"id": 5, "admin_graphql_api_id": "gid://shopify/Refund/5"}]
    payload["discount_codes"] = [{"code": "SPRING"}]
    payload["customer_locale"] = "pl"
    return payload


BASE_PATHS = paths(base())[1:]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(BASE_PATHS), JSON), min_size=1, max_size=3))
def test_any_changed_field_either_maps_equal_or_goes_to_the_schema(changes: list[Any]) -> None:
    payload = copy.deepcopy(base())
    for path, value in changes:
        target: Any = payload
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed this path
    agrees_with_the_schema(payload, changes)


EDGE_VALUES: list[Any] = [
    None, True, False, -1, 0, 1, 2**64, 1.5, "", " 3 ", "x" * 40, "x" * 70, "x" * 300,
    "x" * 400, "12.50", "-0.01", "1e3", "NaN", "Infinity", "USD", "usd", "PL", "pl", "enabled",
    "2026-01-02", "2026-01-02T03:04:05", "2026-01-02T03:04:05Z", "2026-13-02T03:04:05Z",
    "gid://shopify/Order/9", "gid://shopify/Customer/9", "gid://shopify/LineItem/9",
    "gid://shopify/Refund/9", "gid://shopify/Order/x", [], [{}], {}, {"shop_money": None},
]  # fmt: skip


@pytest.mark.parametrize("path", BASE_PATHS, ids=lambda p: ".".join(map(str, p)))
def test_every_field_set_to_every_edge_value_maps_equal_or_goes_to_the_schema(
    path: tuple[Any, ...],
) -> None:
    """Each field of a full payload, set to each awkward value (and removed): the plain
    mapping equals the schema's result, or leaves the payload to the schema."""
    for value in [*EDGE_VALUES, KeyError]:
        payload = copy.deepcopy(base())
        target: Any = payload
        for key in path[:-1]:
            target = target[key]
        if value is KeyError:
            if isinstance(target, dict):
                del target[path[-1]]
        else:
            target[path[-1]] = value
        agrees_with_the_schema(payload, (path, value))
