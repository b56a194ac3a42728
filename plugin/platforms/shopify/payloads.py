"""Schemas of checkout, product, shop, app and compliance payloads (orders and customers live
in `payload_orders` and `payload_customers`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from marshmallow import fields, post_load, validate

from plugin.events import CheckoutData, LineItem, ProductData
from plugin.platforms.shopify.payload_customers import partial_customer, platform_id
from plugin.platforms.shopify.payload_fields import (
    CURRENCY,
    Amount,
    Gid,
    Instant,
    PayloadSchema,
    ShopifyId,
    TagList,
    category_id,
)
from plugin.profiles.money import to_minor

# From this API version on checkouts carry no `id` (key: token) and orders no checkout_id.
CHECKOUT_WITHOUT_ID_SINCE = "2026-04"


class CheckoutLineSchema(PayloadSchema):
    product_id = ShopifyId(allow_none=True)
    variant_id = ShopifyId(allow_none=True)
    title = fields.String(allow_none=True)
    vendor = fields.String(allow_none=True, validate=validate.Length(max=255))
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    price = Amount(required=True)


class CheckoutSchema(PayloadSchema):
    """A checkout as sent from API 2026-04 on: keyed by `token`, no `id`.

    Checkout payloads have no shop-money sets: amounts are in the presentment currency.
    """

    token = fields.String(required=True, validate=validate.Length(min=1, max=255))
    cart_token = fields.String(allow_none=True, validate=validate.Length(max=255))
    customer = partial_customer()
    customer_locale = fields.String(allow_none=True, validate=validate.Length(max=32))
    email = fields.String(allow_none=True, validate=validate.Length(max=320))
    phone = fields.String(allow_none=True, validate=validate.Length(max=64))
    currency = fields.String(allow_none=True, validate=CURRENCY)
    presentment_currency = fields.String(allow_none=True, validate=CURRENCY)
    total_price = Amount(required=True)
    abandoned_checkout_url = fields.String(allow_none=True)
    line_items = fields.List(fields.Nested(CheckoutLineSchema), required=True)
    created_at = Instant(allow_none=True)
    updated_at = Instant(allow_none=True)
    completed_at = Instant(allow_none=True)

    @post_load
    def to_checkout(self, data: dict[str, Any], **_: Any) -> CheckoutData:
        currency = data.get("presentment_currency") or data.get("currency")
        customer = data.get("customer")
        if customer is not None and data.get("customer_locale"):
            customer = replace(customer, locale=data["customer_locale"])
        return CheckoutData(
            token=data["token"],
            platform_id=data.get("id"),
            cart_token=data.get("cart_token"),
            customer=customer,
            email=data.get("email"),
            phone=data.get("phone"),
            currency=currency,
            total_minor=to_minor(data["total_price"], currency),
            recovery_url=data.get("abandoned_checkout_url"),
            line_items=tuple(_checkout_line(line, currency) for line in data["line_items"]),
            created_at=data.get("created_at"),
            updated_at=data.get("updated_at"),
            completed_at=data.get("completed_at"),
        )


def _checkout_line(line: dict[str, Any], currency: str | None) -> LineItem:
    return LineItem(
        platform_id=None,
        product_id=line.get("product_id"),
        variant_id=line.get("variant_id"),
        title=line.get("title"),
        vendor=line.get("vendor"),
        quantity=line["quantity"],
        price_minor=to_minor(line["price"], currency),
    )


class CheckoutWithIdSchema(CheckoutSchema):
    """A checkout as sent before API 2026-04, which still carried its numeric `id`."""

    id = ShopifyId(allow_none=True)


def checkout_schema(api_version: str | None) -> CheckoutSchema:
    if api_version is not None and api_version < CHECKOUT_WITHOUT_ID_SINCE:
        return CheckoutWithIdSchema()
    return CheckoutSchema()


class CheckoutDeleteSchema(PayloadSchema):
    """checkouts/delete carries no token: only the checkout's `id` and `cart_token`."""

    id = ShopifyId(allow_none=True)
    token = fields.String(allow_none=True)
    cart_token = fields.String(allow_none=True)


class ProductSchema(PayloadSchema):
    id = ShopifyId(required=True)
    gid = Gid("Product", data_key="admin_graphql_api_id", allow_none=True)
    title = fields.String(allow_none=True)
    product_type = fields.String(allow_none=True, validate=validate.Length(max=255))
    vendor = fields.String(allow_none=True, validate=validate.Length(max=255))
    tags = TagList(allow_none=True)
    category = fields.Raw(allow_none=True)  # {admin_graphql_api_id, name, full_name}
    updated_at = Instant(allow_none=True)

    @post_load
    def to_product(self, data: dict[str, Any], **_: Any) -> ProductData:
        return ProductData(
            platform_id=platform_id(data),
            title=data.get("title"),
            product_type=data.get("product_type") or None,
            vendor=data.get("vendor") or None,
            tags=data.get("tags") or (),
            updated_at=data.get("updated_at"),
            category_id=category_id(data.get("category")),
        )


class ShopSchema(PayloadSchema):
    iana_timezone = fields.String(allow_none=True)
    currency = fields.String(allow_none=True, validate=CURRENCY)
    updated_at = Instant(allow_none=True)


class ScopesSchema(PayloadSchema):
    current = fields.List(fields.String(), required=True)
    updated_at = Instant(allow_none=True)


class AppSubscriptionSchema(PayloadSchema):
    admin_graphql_api_id = fields.String(required=True, validate=validate.Length(min=1))
    name = fields.String(required=True)
    status = fields.String(required=True, validate=validate.Length(min=1, max=32))
    created_at = Instant(allow_none=True)
    updated_at = Instant(allow_none=True)


class AppSubscriptionUpdateSchema(PayloadSchema):
    app_subscription = fields.Nested(AppSubscriptionSchema, required=True)


class BulkFinishSchema(PayloadSchema):
    """bulk_operations/finish: the operation's gid and status, not its result url."""

    admin_graphql_api_id = fields.String(required=True)
    status = fields.String(required=True)


class PersonSchema(PayloadSchema):
    id = ShopifyId(required=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


class DataRequestRefSchema(PayloadSchema):
    id = ShopifyId(allow_none=True)


class DataRequestSchema(PayloadSchema):
    customer = fields.Nested(PersonSchema, required=True)
    orders_requested = fields.List(ShopifyId(), allow_none=True)
    data_request = fields.Nested(DataRequestRefSchema, allow_none=True)


class RedactSchema(PayloadSchema):
    customer = fields.Nested(PersonSchema, required=True)
    orders_to_redact = fields.List(ShopifyId(), allow_none=True)
