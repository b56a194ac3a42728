"""`shopseg customers show DOMAIN CUSTOMER_ID [--json]` on the database under test."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from plugin.cli import main
from plugin.commands import customers as customer_commands
from plugin.runtime import build_runtime
from plugin.settings import Settings
from plugin.shops.models import Shop
from tests.support.profiles import (
    checkout_payload,
    customer_payload,
    line_item,
    make_shop,
    order_payload,
    product_payload,
)

Apply = Callable[..., list[Any]]
BIG_ID = "9007199254740993"  # 2**53 + 1: a JSON number would lose it


@pytest.fixture(autouse=True)
def _cli_uses_the_test_database(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setattr(customer_commands, "load_runtime", lambda **_: build_runtime(settings))


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture
def history(apply: Apply, shop: Shop) -> None:
    when = "2026-02-01T00:00:00Z"
    customer = customer_payload(BIG_ID, updated_at=when, email="ann@example.com", first_name="Ann")
    apply("customers/update", customer)
    apply(
        "products/create",
        product_payload("42", product_type="Shoes", vendor="Nike", updated_at=when),
    )
    lines = [line_item("42", "30.00", quantity=2)]
    apply(
        "orders/create",
        order_payload("5001", customer=BIG_ID, total="60.00", updated_at=when, lines=lines),
    )
    tags = {"customerId": f"gid://shopify/Customer/{BIG_ID}", "tags": ["VIP"], "occurredAt": when}
    apply("customer.tags_added", tags)
    consent = {
        "customer_id": int(BIG_ID),
        "email_marketing_consent": {
            "state": "subscribed",
            "opt_in_level": "single_opt_in",
            "consent_updated_at": when,
        },
    }
    apply("customers_email_marketing_consent/update", consent)
    apply(
        "checkouts/create",
        checkout_payload("k", customer=BIG_ID, total="9.00", updated_at="2026-01-01T00:00:00Z"),
    )


def test_show_json_has_profile_tags_consent_metrics_and_purchases(
    history: None, shop: Shop
) -> None:
    code, output = run("customers", "show", shop.domain, BIG_ID, "--json")
    assert code == 0, output
    doc = json.loads(output)
    assert doc["customer_id"] == BIG_ID
    assert doc["profile"]["email"] == "ann@example.com"
    assert doc["tags"] == ["VIP"]
    assert doc["consent"]["email_marketing_state"] == "subscribed"
    metrics = doc["metrics"]
    assert (metrics["orders_count"], metrics["total_spent"], metrics["total_spent_minor"]) == (
        1,
        "60.00",
        6000,
    )
    assert metrics["abandoned_checkouts_count"] == 1
    assert doc["product_types"] == [{"value": "shoes", "orders": 1, "quantity": 2}]
    assert doc["vendors"] == [{"value": "nike", "orders": 1, "quantity": 2}]
    assert [o["id"] for o in doc["orders"]] == ["5001"]


def test_every_id_in_the_json_is_a_string(history: None, shop: Shop) -> None:
    _, output = run("customers", "show", shop.domain, BIG_ID, "--json")

    def ids(value: Any, key: str = "") -> list[Any]:
        if isinstance(value, dict):
            return [i for k, v in value.items() for i in ids(v, k)]
        if isinstance(value, list):
            return [i for v in value for i in ids(v, key)]
        return [value] if key == "id" or key.endswith("_id") else []

    found = ids(json.loads(output))
    assert found and all(isinstance(i, str) for i in found)


def test_show_text_names_the_sections(history: None, shop: Shop) -> None:
    code, output = run("customers", "show", shop.domain.upper(), BIG_ID)
    assert code == 0, output
    for section in ("Profile", "Consent", "Tags", "Metrics", "Product types", "Vendors"):
        assert f"\n{section}\n" in output
    assert "ann@example.com" in output and "VIP" in output and "shoes" in output


def test_unknown_shop_is_a_clear_error() -> None:
    code, output = run("customers", "show", "nobody.myshopify.com", "1")
    assert code != 0
    assert "unknown shop: nobody.myshopify.com" in output
    assert "Traceback" not in output


def test_unknown_customer_is_a_clear_error(shop: Shop) -> None:
    code, output = run("customers", "show", shop.domain, "404", "--json")
    assert code != 0
    assert f"no customer 404 in {shop.domain}" in output


def test_another_shops_customer_is_not_shown(history: None, session: Session) -> None:
    other = make_shop(session, "beta.myshopify.com")
    code, output = run("customers", "show", other.domain, BIG_ID)
    assert code != 0
    assert "ann@example.com" not in output
