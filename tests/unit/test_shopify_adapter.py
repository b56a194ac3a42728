"""The Shopify adapter: topics to domain events, exact ids, money, versions, shapes by version."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from plugin import events as ev
from plugin.errors import ValidationError
from plugin.platforms.shopify.adapter import BUILDERS, ShopifyAdapter
from tests.support.profiles import (
    FIXTURE_ROOT,
    customer_partial,
    line_item,
    load_example,
    money,
    order_payload,
    product_payload,
    repair_ids,
)

TRIGGERED = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)


def events(topic: str, payload: Any, api_version: str | None = "2026-04") -> list[ev.Event]:
    delivery = ev.Delivery(1, topic, "wh-1", "ev-1", TRIGGERED)
    return ShopifyAdapter().events_from_delivery(delivery, api_version, payload)


def one(topic: str, payload: Any, api_version: str | None = "2026-04") -> Any:
    (event,) = events(topic, payload, api_version)
    return event


EXPECTED = {
    "bulk_operations/finish": ev.ExportFinished,
    "orders/create": ev.OrderUpserted,
    "orders/updated": ev.OrderUpserted,
    "orders/paid": ev.OrderUpserted,
    "orders/cancelled": ev.OrderUpserted,
    "orders/delete": ev.OrderDeleted,
    "refunds/create": ev.RefundCreated,
    "checkouts/create": ev.CheckoutUpserted,
    "checkouts/update": ev.CheckoutUpserted,
    "checkouts/delete": ev.CheckoutDeleted,
    "customers/create": ev.CustomerUpserted,
    "customers/update": ev.CustomerUpserted,
    "customers/enable": ev.CustomerUpserted,
    "customers/disable": ev.CustomerUpserted,
    "customers/delete": ev.CustomerDeleted,
    "customers_email_marketing_consent/update": ev.CustomerConsentChanged,
    "customers_marketing_consent/update": ev.CustomerSmsConsentChanged,
    "customers/purchasing_summary": ev.CustomerPurchasingSummary,
    "customer.tags_added": ev.CustomerTagsChanged,
    "customer.tags_removed": ev.CustomerTagsChanged,
    "shop/update": ev.ShopUpdated,
    "app/uninstalled": ev.AppUninstalled,
    "app/scopes_update": ev.ScopesUpdated,
    "customers/data_request": ev.CustomerDataRequested,
    "customers/redact": ev.CustomerRedactRequested,
    "shop/redact": ev.ShopRedactRequested,
}


@pytest.mark.parametrize("topic", sorted(EXPECTED))
def test_example_payload_becomes_its_domain_event(topic: str) -> None:
    assert isinstance(one(topic, load_example(topic)), EXPECTED[topic])


def test_every_builder_is_expected() -> None:
    # products/* have no example file: see test_product_tags_are_split_and_trimmed;
    # app_subscriptions/update neither: see test_subscription_update_names_the_plan
    assert set(BUILDERS) == set(EXPECTED) | {
        "app_subscriptions/update",
        "customers/merge",
        "products/create",
        "products/update",
    }


SUBSCRIPTION_UPDATE = {
    "app_subscription": {
        "admin_graphql_api_id": "gid://shopify/AppSubscription/1029266948",
        "name": "Growth",
        "status": "ACTIVE",
        "admin_graphql_api_shop_id": "gid://shopify/Shop/548380009",
        "created_at": "2026-04-30T19:00:00-05:00",
        "updated_at": "2026-05-01T19:00:00-05:00",
    }
}


def test_subscription_update_names_the_plan() -> None:
    event = one("app_subscriptions/update", SUBSCRIPTION_UPDATE)
    assert event == ev.AppSubscriptionChanged(
        "2026-05-02T00:00:00.000000Z|wh-1",
        "gid://shopify/AppSubscription/1029266948",
        "Growth",
        "ACTIVE",
        datetime(2026, 5, 2, tzinfo=UTC),
    )


def test_subscription_update_without_a_status_is_refused() -> None:
    payload = copy.deepcopy(SUBSCRIPTION_UPDATE)
    del payload["app_subscription"]["status"]
    with pytest.raises(ValidationError, match="status"):
        events("app_subscriptions/update", payload)


@pytest.mark.parametrize("topic", ["orders/edited", "carts/create"])
def test_unknown_topic_gives_no_event(topic: str) -> None:
    assert events(topic, {"anything": "at all"}) == []


def test_bulk_operations_finish_names_the_operation_and_its_status() -> None:
    event = one("bulk_operations/finish", load_example("bulk_operations/finish"))
    assert event == ev.ExportFinished(
        event.version, "gid://shopify/BulkOperation/147595010", "completed"
    )


def test_ids_come_exactly_from_the_gid_even_when_the_number_lost_precision() -> None:
    raw = load_example("orders/create")
    raw["id"] = 820982911946154500  # as in the example file: rounded by a float
    order = one("orders/create", raw).order
    assert order.platform_id == "820982911946154508"
    assert order.customer.platform_id == raw["customer"]["admin_graphql_api_id"].split("/")[-1]
    assert order.line_items[0].platform_id == "487817672276298554"


def test_without_a_gid_the_numeric_id_is_kept_as_a_string() -> None:
    payload = load_example("orders/create")
    payload.pop("admin_graphql_api_id")
    payload["id"] = 9007199254740993  # 2**53 + 1: not representable as a float
    assert one("orders/create", payload).order.platform_id == "9007199254740993"


def test_gid_of_another_resource_type_is_refused() -> None:
    payload = load_example("orders/create")
    payload["admin_graphql_api_id"] = "gid://shopify/Customer/1"
    with pytest.raises(ValidationError, match="admin_graphql_api_id"):
        events("orders/create", payload)


def test_order_maps_money_flags_and_lines() -> None:
    payload = order_payload(
        "1001",
        customer="7",
        total="90.00",
        original_total="100.00",
        discounts="10.00",
        updated_at="2026-03-01T10:00:00+02:00",
        processed_at="2026-03-01T09:00:00+02:00",
        discount_codes=[{"code": "SPRING", "amount": "10.00", "type": "fixed_amount"}],
        checkout_token="tok-1",
        source_name="pos",
        refunds=[{"id": 55, "admin_graphql_api_id": "gid://shopify/Refund/55"}],
        lines=[line_item("42", "45.00", quantity=2, vendor="Acme", discount="5.00")],
    )
    order = one("orders/create", payload).order
    assert (order.total_minor, order.original_total_minor, order.discount_minor) == (
        9000,
        10000,
        1000,
    )
    assert order.discount_codes == ("SPRING",)
    assert order.refund_ids == ("55",)
    assert order.source_name == "pos" and order.checkout_token == "tok-1"
    assert order.ordered_at == datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
    (line,) = order.line_items
    assert (line.product_id, line.vendor, line.quantity, line.price_minor) == (
        "42",
        "Acme",
        2,
        4500,
    )
    assert line.discount_minor == 500
    assert order.customer.locale == "en"


def test_discount_allocations_win_over_total_discount() -> None:
    line = line_item("42", "45.00", discount="9.99")
    line["discount_allocations"] = [{"amount_set": money("2.50")}, {"amount_set": money("1.00")}]
    payload = order_payload("1", customer=None, total="45.00", updated_at=TRIGGERED, lines=[line])
    assert one("orders/create", payload).order.line_items[0].discount_minor == 350


def test_order_without_current_total_falls_back_to_total_price() -> None:
    payload = order_payload("1", customer=None, total="12.00", updated_at=TRIGGERED)
    del payload["current_total_price_set"]
    assert one("orders/create", payload).order.total_minor == 1200


def test_order_without_any_total_is_refused() -> None:
    payload = order_payload("1", customer=None, total="12.00", updated_at=TRIGGERED)
    del payload["current_total_price_set"], payload["total_price_set"]
    with pytest.raises(ValidationError, match="current_total_price_set"):
        events("orders/create", payload)


@pytest.mark.parametrize(
    ("currency", "amount", "minor"), [("JPY", "1500", 1500), ("KWD", "1.250", 1250)]
)
def test_money_uses_the_currency_exponent(currency: str, amount: str, minor: int) -> None:
    payload = order_payload("1", customer=None, total=amount, updated_at=TRIGGERED)
    payload["current_total_price_set"] = money(amount, currency)
    assert one("orders/create", payload).order.total_minor == minor


def test_wrong_types_name_the_topic_and_the_field() -> None:
    payload = order_payload("1", customer=None, total="1.00", updated_at=TRIGGERED)
    payload["line_items"][0]["quantity"] = "2"
    with pytest.raises(ValidationError) as caught:
        events("orders/updated", payload)
    assert caught.value.detail.startswith("orders/updated: invalid payload:")
    assert "line_items.0.quantity" in caught.value.detail


@pytest.mark.parametrize("payload", [[], "x", None])
def test_a_payload_that_is_not_an_object_is_refused(payload: Any) -> None:
    with pytest.raises(ValidationError, match="not a JSON object"):
        events("orders/create", payload)


def test_versions_use_the_resource_time_else_the_trigger_time() -> None:
    order = one(
        "orders/create",
        order_payload("1", customer=None, total="1.00", updated_at="2026-02-03T04:05:06Z"),
    )
    assert order.version == "2026-02-03T04:05:06.000000Z|wh-1"
    deleted = one("orders/delete", {"id": 1})
    assert deleted.version == ev.make_version(None, TRIGGERED, "wh-1")
    tags = one("customer.tags_added", load_example("customer.tags_added"))
    assert tags.version.startswith("2005-05-05T06:00:00")


def test_refund_amount_is_goods_tax_and_shipping_in_shop_money() -> None:
    payload = load_example("refunds/create")
    expected = sum(
        round(float(r["subtotal_set"]["shop_money"]["amount"]) * 100)
        + round(float(r["total_tax_set"]["shop_money"]["amount"]) * 100)
        for r in payload["refund_line_items"]
    )
    refund = one("refunds/create", payload)
    assert refund.amount_minor == expected
    assert refund.order_id == str(payload["order_id"])
    assert refund.refund_id == payload["admin_graphql_api_id"].split("/")[-1]


def test_refunded_shipping_adjustment_adds_to_the_refund() -> None:
    payload = load_example("refunds/create")
    payload["refund_line_items"] = payload["refund_line_items"][:1]
    payload["order_adjustments"] = [
        {"kind": "shipping_refund", "amount_set": money("-5.00"), "tax_amount_set": money("0.00")}
    ]
    goods = round(
        float(payload["refund_line_items"][0]["subtotal_set"]["shop_money"]["amount"]) * 100
    )
    assert one("refunds/create", payload).amount_minor == goods + 500


def test_amount_only_refund_falls_back_to_successful_refund_transactions() -> None:
    payload = load_example("refunds/create")
    payload["refund_line_items"] = []
    payload["transactions"][1]["status"] = "failure"
    first = payload["transactions"][0]["amount"]
    assert one("refunds/create", payload).amount_minor == round(float(first) * 100)


def test_checkout_2026_04_is_keyed_by_token_and_ignores_an_id() -> None:
    payload = copy.deepcopy(load_example("checkouts/create"))
    payload["id"] = 77
    checkout = one("checkouts/create", payload).checkout
    assert checkout.token == payload["token"] and checkout.platform_id is None
    assert checkout.total_minor == round(float(payload["total_price"]) * 100)
    assert checkout.recovery_url == payload["abandoned_checkout_url"]
    assert checkout.line_items[0].vendor == payload["line_items"][0]["vendor"]


@pytest.mark.parametrize("version", ["2026-01", "2025-10"])
def test_checkout_before_2026_04_keeps_its_id(version: str) -> None:
    payload = copy.deepcopy(load_example("checkouts/create"))
    payload["id"] = 981820079255243537
    assert one("checkouts/update", payload, version).checkout.platform_id == "981820079255243537"


def test_checkout_delete_carries_id_and_cart_token() -> None:
    event = one("checkouts/delete", load_example("checkouts/delete"))
    assert event.token is None and event.cart_token and event.platform_id


def test_checkout_delete_with_nothing_to_match_is_refused() -> None:
    with pytest.raises(ValidationError, match="no id, token or cart_token"):
        events("checkouts/delete", {"presentment_currency": "USD"})


def test_product_tags_are_split_and_trimmed() -> None:
    payload = product_payload(
        "5", product_type="Shoes", vendor="Acme", updated_at=TRIGGERED, tags="eco, Premium ,, eco"
    )
    product = one("products/update", payload).product
    assert product.tags == ("eco", "Premium")
    assert (product.product_type, product.vendor) == ("Shoes", "Acme")


def test_customer_2025_shape_says_nothing_about_tags_or_consent() -> None:
    customer = one("customers/update", load_example("customers/update")).customer
    assert customer.tags is None and customer.email_marketing_state is None
    assert (customer.address.country_code, customer.address.city) == ("CA", "Ottawa")


def test_customer_2024_10_shape_fills_tags_and_consent() -> None:
    old = json.loads((FIXTURE_ROOT / "examples-2024-10" / "customers_update.json").read_text())
    payload = repair_ids(old["payload"])
    payload["tags"] = "vip, newsletter"
    customer = one("customers/update", payload, "2024-10").customer
    assert customer.tags == ("vip", "newsletter")
    assert customer.email_marketing_state == "not_subscribed"


def test_partial_customer_in_an_order_never_carries_tags() -> None:
    payload = order_payload("1", customer="7", total="1.00", updated_at=TRIGGERED)
    payload["customer"]["tags"] = "vip"
    payload["customer"]["email_marketing_consent"] = {"state": "subscribed"}
    customer = one("orders/create", payload).order.customer
    assert customer.tags is None and customer.email_marketing_state is None


def test_only_a_completed_merge_is_an_event() -> None:
    payload = load_example("customers/merge")
    assert events("customers/merge", payload) == []
    payload["status"] = "completed"
    merged = one("customers/merge", payload)
    assert (merged.kept_id, merged.deleted_id) == ("1", "2")


def test_tags_events_take_the_customer_from_its_gid() -> None:
    added = one("customer.tags_added", load_example("customer.tags_added"))
    removed = one("customer.tags_removed", load_example("customer.tags_removed"))
    assert (added.customer_id, added.added, added.removed) == ("1", ("tag1", "tag2"), ())
    assert (removed.added, removed.removed) == ((), ("tag1", "tag2"))


def test_purchasing_summary_amount_in_minor_units() -> None:
    summary = one("customers/purchasing_summary", load_example("customers/purchasing_summary"))
    assert (summary.orders_count, summary.amount_spent_minor, summary.last_order_id) == (
        1,
        10000,
        "1",
    )


def test_compliance_payloads_name_the_person_and_orders() -> None:
    redact = one("customers/redact", load_example("customers/redact"))
    assert redact.customer_id == "191167" and redact.order_ids == ("299938", "280263", "220458")
    request = one("customers/data_request", load_example("customers/data_request"))
    assert request.request_id == "9999"


def test_partial_customer_helper_is_a_valid_customer() -> None:
    # the builders used by the integration tests must themselves be valid payloads
    payload = order_payload("1", customer="7", total="1.00", updated_at=TRIGGERED)
    assert payload["customer"] == customer_partial("7", "c7@example.com")
    assert one("orders/create", payload).order.customer.email == "c7@example.com"


def test_fixture_loader_repairs_rounded_ids_from_the_gids() -> None:
    order = load_example("orders/create")
    assert order["id"] == 820982911946154508
    assert order["customer"]["id"] == 115310627314723954
    assert order["customer"]["default_address"]["customer_id"] == 115310627314723954
    assert order["line_items"][0]["id"] == 487817672276298554
    assert load_example("refunds/create")["order_id"] == 820982911946154508
    consent = load_example("customers_email_marketing_consent/update")
    assert consent["customer_id"] == load_example("customers/update")["id"]
    assert one("orders/delete", load_example("orders/delete")).order_id == "820982911946154508"
