"""The Shopify adapter: one verified webhook delivery → platform-neutral domain events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plugin import events as ev
from plugin.errors import ValidationError
from plugin.platforms.shopify import payload_customers as pc
from plugin.platforms.shopify import payload_orders as po
from plugin.platforms.shopify import payloads as pp
from plugin.platforms.shopify.payload_fast import order_data
from plugin.platforms.shopify.payload_fields import load


@dataclass(frozen=True)
class Build:
    """What a builder needs besides the payload: the delivery and its API version."""

    delivery: ev.Delivery
    api_version: str | None

    @property
    def topic(self) -> str:
        return self.delivery.topic

    def version(self, instant: datetime | None) -> str:
        """The resource's own time when it has one, else the delivery's trigger time."""
        return ev.make_version(instant, self.delivery.triggered_at, self.delivery.webhook_id)


Builder = Callable[[dict[str, Any], Build], list[ev.Event]]


def order_upserted(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    # The plain mapper takes the common shape; the schema decides everything else.
    order: ev.OrderData = order_data(payload) or load(po.OrderSchema(), payload, b.topic)
    return [ev.OrderUpserted(b.version(order.updated_at), order)]


def order_deleted(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    data = load(po.OrderDeleteSchema(), payload, b.topic)
    return [ev.OrderDeleted(b.version(None), pc.platform_id(data))]


def refund_created(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    data = load(po.RefundSchema(), payload, b.topic)
    refunded_at = data.get("processed_at") or data.get("created_at")
    amount = po.refund_amount(data)
    return [
        ev.RefundCreated(
            b.version(data.get("created_at")),
            pc.platform_id(data),
            data["order_id"],
            amount,
            refunded_at,
        )
    ]


def checkout_upserted(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    checkout: ev.CheckoutData = load(pp.checkout_schema(b.api_version), payload, b.topic)
    return [ev.CheckoutUpserted(b.version(checkout.updated_at), checkout)]


def checkout_deleted(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    data = load(pp.CheckoutDeleteSchema(), payload, b.topic)
    if not (data.get("id") or data.get("token") or data.get("cart_token")):
        raise ValidationError(f"{b.topic}: invalid payload: no id, token or cart_token")
    return [
        ev.CheckoutDeleted(
            b.version(None), data.get("id"), data.get("token"), data.get("cart_token")
        )
    ]


def product_upserted(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    product: ev.ProductData = load(pp.ProductSchema(), payload, b.topic)
    return [ev.ProductUpserted(b.version(product.updated_at), product)]


def customer_upserted(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    customer: ev.CustomerData = load(pc.CustomerSchema(), payload, b.topic)
    return [ev.CustomerUpserted(b.version(customer.updated_at), customer)]


def customer_deleted(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    data = load(pc.CustomerDeleteSchema(), payload, b.topic)
    return [ev.CustomerDeleted(b.version(None), pc.platform_id(data))]


def customers_merged(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    data = load(pc.MergeSchema(), payload, b.topic)
    if data["status"] != "completed":  # failed or still running: nothing moved yet
        return []
    if not (data.get("kept_id") and data.get("deleted_id")):
        raise ValidationError(f"{b.topic}: invalid payload: a completed merge needs both ids")
    return [ev.CustomersMerged(b.version(None), data["kept_id"], data["deleted_id"])]


def consent_changed(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    data = load(pc.ConsentUpdateSchema(), payload, b.topic)
    consent = data["email_marketing_consent"]
    at = consent.get("consent_updated_at")
    return [
        ev.CustomerConsentChanged(
            b.version(at),
            data["customer_id"],
            consent.get("state"),
            consent.get("opt_in_level"),
            at,
        )
    ]


def sms_consent_changed(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    data = load(pc.SmsConsentUpdateSchema(), payload, b.topic)
    consent = data["sms_marketing_consent"]
    version = b.version(consent.get("consent_updated_at"))
    return [ev.CustomerSmsConsentChanged(version, data["id"], consent.get("state"))]


def purchasing_summary(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    data = load(pc.PurchasingSummarySchema(), payload, b.topic)
    return [
        ev.CustomerPurchasingSummary(
            b.version(data.get("occurred_at")),
            data["customer_id"],
            data["orders_count"],
            data["amount_spent_minor"],
            data.get("last_order_id"),
        )
    ]


def tags_changed(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    data = load(pc.TagsChangedSchema(), payload, b.topic)
    version = b.version(data.get("occurred_at"))
    if b.topic == "customer.tags_added":
        return [ev.CustomerTagsChanged(version, data["customer_id"], added=data["tags"])]
    return [ev.CustomerTagsChanged(version, data["customer_id"], removed=data["tags"])]


def shop_updated(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    data = load(pp.ShopSchema(), payload, b.topic)
    version = b.version(data.get("updated_at"))
    return [ev.ShopUpdated(version, data.get("iana_timezone"), data.get("currency"))]


def app_uninstalled(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    return [ev.AppUninstalled(b.version(None))]


def scopes_updated(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    data = load(pp.ScopesSchema(), payload, b.topic)
    return [ev.ScopesUpdated(b.version(data.get("updated_at")), tuple(data["current"]))]


def subscription_updated(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    sub = load(pp.AppSubscriptionUpdateSchema(), payload, b.topic)["app_subscription"]
    at = sub.get("updated_at") or sub.get("created_at")
    return [
        ev.AppSubscriptionChanged(
            b.version(at), sub["admin_graphql_api_id"], sub["name"], sub["status"].upper(), at
        )
    ]


def export_finished(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    data = load(pp.BulkFinishSchema(), payload, b.topic)
    status = str(data["status"]).lower()
    return [ev.ExportFinished(b.version(None), data["admin_graphql_api_id"], status)]


def data_requested(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    data = load(pp.DataRequestSchema(), payload, b.topic)
    person = data["customer"]
    return [
        ev.CustomerDataRequested(
            b.version(None),
            person["id"],
            person.get("email"),
            person.get("phone"),
            tuple(data.get("orders_requested") or ()),
            (data.get("data_request") or {}).get("id"),
        )
    ]


def redact_requested(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    data = load(pp.RedactSchema(), payload, b.topic)
    person = data["customer"]
    return [
        ev.CustomerRedactRequested(
            b.version(None),
            person["id"],
            person.get("email"),
            person.get("phone"),
            tuple(data.get("orders_to_redact") or ()),
        )
    ]


def shop_redact_requested(payload: dict[str, Any], b: Build) -> list[ev.Event]:
    return [ev.ShopRedactRequested(b.version(None))]


BUILDERS: dict[str, Builder] = {
    **dict.fromkeys(
        ("orders/create", "orders/updated", "orders/paid", "orders/cancelled"), order_upserted
    ),
    "orders/delete": order_deleted,
    "refunds/create": refund_created,
    **dict.fromkeys(("checkouts/create", "checkouts/update"), checkout_upserted),
    "checkouts/delete": checkout_deleted,
    **dict.fromkeys(("products/create", "products/update"), product_upserted),
    **dict.fromkeys(
        ("customers/create", "customers/update", "customers/enable", "customers/disable"),
        customer_upserted,
    ),
    "customers/delete": customer_deleted,
    "customers/merge": customers_merged,
    "customers_email_marketing_consent/update": consent_changed,
    "customers_marketing_consent/update": sms_consent_changed,
    "customers/purchasing_summary": purchasing_summary,
    "customer.tags_added": tags_changed,
    "customer.tags_removed": tags_changed,
    "shop/update": shop_updated,
    "app/uninstalled": app_uninstalled,
    "app/scopes_update": scopes_updated,
    "app_subscriptions/update": subscription_updated,
    "bulk_operations/finish": export_finished,
    "customers/data_request": data_requested,
    "customers/redact": redact_requested,
    "shop/redact": shop_redact_requested,
}


class ShopifyAdapter:
    """`PlatformAdapter` for Shopify. Pure: no I/O, no database, so a bad payload is
    rejected before anything is written."""

    name = "shopify"

    def events_from_delivery(
        self, delivery: ev.Delivery, api_version: str | None, payload: dict[str, Any]
    ) -> list[ev.Event]:
        builder = BUILDERS.get(delivery.topic)
        if builder is None:  # a topic we receive but do not act on
            return []
        if not isinstance(payload, dict):
            raise ValidationError(f"{delivery.topic}: payload is not a JSON object")
        return builder(payload, Build(delivery, api_version))
