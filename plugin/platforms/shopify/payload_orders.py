"""Schemas of order and refund payloads (orders/*, refunds/create)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from marshmallow import ValidationError as SchemaError
from marshmallow import fields, post_load, validate, validates_schema

from plugin.events import LineItem, OrderData
from plugin.platforms.shopify.payload_customers import partial_customer, platform_id
from plugin.platforms.shopify.payload_fields import (
    CURRENCY,
    Amount,
    Gid,
    Instant,
    Money,
    PayloadSchema,
    ShopifyId,
    money_set,
)
from plugin.profiles.money import to_minor


class AllocationSchema(PayloadSchema):
    amount_set = money_set(required=True)


class OrderLineSchema(PayloadSchema):
    id = ShopifyId(allow_none=True)
    gid = Gid("LineItem", data_key="admin_graphql_api_id", allow_none=True)
    product_id = ShopifyId(allow_none=True)
    variant_id = ShopifyId(allow_none=True)
    title = fields.String(allow_none=True)
    vendor = fields.String(allow_none=True, validate=validate.Length(max=255))
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    price_set = money_set(required=True)
    total_discount_set = money_set(allow_none=True)
    discount_allocations = fields.List(fields.Nested(AllocationSchema), allow_none=True)

    @post_load
    def to_line(self, data: dict[str, Any], **_: Any) -> LineItem:
        return LineItem(
            platform_id=data.get("gid") or data.get("id"),
            product_id=data.get("product_id"),
            variant_id=data.get("variant_id"),
            title=data.get("title"),
            vendor=data.get("vendor"),
            quantity=data["quantity"],
            price_minor=data["price_set"].minor,
            discount_minor=_line_discount(data),
        )


def _line_discount(data: dict[str, Any]) -> int:
    # Shopify recommends discount_allocations over the older total_discount.
    allocations = data.get("discount_allocations")
    if allocations:
        return sum(a["amount_set"].minor for a in allocations)
    total: Money | None = data.get("total_discount_set")
    return total.minor if total else 0


class DiscountCodeSchema(PayloadSchema):
    code = fields.String(required=True)


class RefundRefSchema(PayloadSchema):
    id = ShopifyId(required=True)
    gid = Gid("Refund", data_key="admin_graphql_api_id", allow_none=True)


class OrderSchema(PayloadSchema):
    id = ShopifyId(required=True)
    gid = Gid("Order", data_key="admin_graphql_api_id", allow_none=True)
    customer = partial_customer()
    customer_locale = fields.String(allow_none=True, validate=validate.Length(max=32))
    email = fields.String(allow_none=True)
    contact_email = fields.String(allow_none=True)
    name = fields.String(allow_none=True, validate=validate.Length(max=64))
    current_total_price_set = money_set(allow_none=True)
    total_price_set = money_set(allow_none=True)
    total_discounts_set = money_set(allow_none=True)
    financial_status = fields.String(allow_none=True, validate=validate.Length(max=32))
    cancelled_at = Instant(allow_none=True)
    test = fields.Boolean(allow_none=True)
    source_name = fields.String(allow_none=True)
    discount_codes = fields.List(fields.Nested(DiscountCodeSchema), allow_none=True)
    checkout_token = fields.String(allow_none=True, validate=validate.Length(max=255))
    cart_token = fields.String(allow_none=True, validate=validate.Length(max=255))
    refunds = fields.List(fields.Nested(RefundRefSchema), allow_none=True)
    processed_at = Instant(allow_none=True)
    created_at = Instant(allow_none=True)
    updated_at = Instant(allow_none=True)
    line_items = fields.List(fields.Nested(OrderLineSchema), required=True)
    app_id = ShopifyId(allow_none=True)
    location_id = ShopifyId(allow_none=True)

    @validates_schema
    def has_total(self, data: dict[str, Any], **_: Any) -> None:
        if not (data.get("current_total_price_set") or data.get("total_price_set")):
            raise SchemaError("An order needs current_total_price_set.", "current_total_price_set")

    @post_load
    def to_order(self, data: dict[str, Any], **_: Any) -> OrderData:
        # current_total_price already reflects edits, returns and refunds.
        total: Money = data.get("current_total_price_set") or data["total_price_set"]
        original: Money | None = data.get("total_price_set")
        discount: Money | None = data.get("total_discounts_set")
        customer = data.get("customer")
        if customer is not None and data.get("customer_locale"):
            customer = replace(customer, locale=data["customer_locale"])
        return OrderData(
            platform_id=platform_id(data),
            customer=customer,
            email=data.get("email") or data.get("contact_email"),
            name=data.get("name"),
            currency=total.currency,
            total_minor=total.minor,
            original_total_minor=original.minor if original else None,
            discount_minor=discount.minor if discount else None,
            financial_status=data.get("financial_status"),
            cancelled_at=data.get("cancelled_at"),
            test=bool(data.get("test")),
            source_name=data.get("source_name"),
            discount_codes=tuple(d["code"] for d in data.get("discount_codes") or ()),
            checkout_token=data.get("checkout_token"),
            cart_token=data.get("cart_token"),
            refund_ids=tuple(platform_id(r) for r in data.get("refunds") or ()),
            ordered_at=data.get("processed_at") or data.get("created_at"),
            updated_at=data.get("updated_at"),
            line_items=tuple(data["line_items"]),
            app_id=data.get("app_id"),
            location_id=data.get("location_id"),
        )


class OrderDeleteSchema(PayloadSchema):
    id = ShopifyId(required=True)
    gid = Gid("Order", data_key="admin_graphql_api_id", allow_none=True)


# --- refunds ------------------------------------------------------------------------------


class RefundLineSchema(PayloadSchema):
    subtotal_set = money_set(required=True)
    total_tax_set = money_set(allow_none=True)


class RefundShippingSchema(PayloadSchema):
    subtotal_amount_set = money_set(allow_none=True)
    total_tax_set = money_set(allow_none=True)


class AdjustmentSchema(PayloadSchema):
    kind = fields.String(allow_none=True)
    amount_set = money_set(required=True)
    tax_amount_set = money_set(allow_none=True)


class TransactionSchema(PayloadSchema):
    kind = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    amount = Amount(required=True)
    currency = fields.String(allow_none=True, validate=CURRENCY)


class RefundSchema(PayloadSchema):
    """A refund and the shop-money amount it takes off the order (see `refund_amount`)."""

    id = ShopifyId(required=True)
    gid = Gid("Refund", data_key="admin_graphql_api_id", allow_none=True)
    order_id = ShopifyId(required=True)
    created_at = Instant(allow_none=True)
    processed_at = Instant(allow_none=True)
    refund_line_items = fields.List(fields.Nested(RefundLineSchema), allow_none=True)
    refund_shipping_lines = fields.List(fields.Nested(RefundShippingSchema), allow_none=True)
    order_adjustments = fields.List(fields.Nested(AdjustmentSchema), allow_none=True)
    transactions = fields.List(fields.Nested(TransactionSchema), allow_none=True)


def _minor(money: Money | None) -> int:
    return money.minor if money else 0


def refund_amount(data: dict[str, Any]) -> int:
    """The refund in shop-money minor units: what it takes off `current_total_price`.

    Goods and their tax (refund_line_items subtotal + tax) plus refunded shipping
    (refund_shipping_lines), minus the order adjustments: Shopify records a refunded
    shipping amount (older payloads) or a refund discrepancy there as a negative amount.
    Shipping adjustments are skipped when refund_shipping_lines already carry the shipping.
    A refund with none of these (an amount-only refund) falls back to its successful refund
    transactions; those carry no shop-money set, so their own currency is used.
    """
    shipping_lines = data.get("refund_shipping_lines") or ()
    goods = sum(
        _minor(r["subtotal_set"]) + _minor(r.get("total_tax_set"))
        for r in data.get("refund_line_items") or ()
    )
    shipping = sum(
        _minor(s.get("subtotal_amount_set")) + _minor(s.get("total_tax_set"))
        for s in shipping_lines
    )
    adjustments = sum(
        _minor(a["amount_set"]) + _minor(a.get("tax_amount_set"))
        for a in data.get("order_adjustments") or ()
        if not (shipping_lines and a.get("kind") == "shipping_refund")
    )
    itemised = goods + shipping - adjustments
    if itemised:
        return itemised
    return sum(
        to_minor(t["amount"], t.get("currency"))
        for t in data.get("transactions") or ()
        if t.get("kind") == "refund" and t.get("status") == "success"
    )
