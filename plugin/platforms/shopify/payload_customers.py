"""Schemas of customer payloads: customers/*, consent, tags, purchasing summary, merge."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, post_load, validate

from plugin.events import Address, CustomerData, Metafield
from plugin.platforms.shopify.payload_fields import (
    COUNTRY,
    CURRENCY,
    Amount,
    Gid,
    Instant,
    PayloadSchema,
    ShopifyId,
    TagList,
    metafield,
)
from plugin.profiles.money import to_minor

CUSTOMER_STATES = ("disabled", "invited", "enabled", "declined")
CONSENT_STATES = ("subscribed", "not_subscribed", "unsubscribed", "pending", "redacted", "invalid")
OPT_IN_LEVELS = ("single_opt_in", "confirmed_opt_in", "unknown")


def platform_id(data: dict[str, Any]) -> str:
    """The GID's numeric tail when present (exact), else the numeric id."""
    return str(data.get("gid") or data["id"])


class AddressSchema(PayloadSchema):
    country_code = fields.String(allow_none=True, validate=COUNTRY)
    province_code = fields.String(allow_none=True, validate=validate.Length(max=16))
    city = fields.String(allow_none=True, validate=validate.Length(max=255))

    @post_load
    def to_address(self, data: dict[str, Any], **_: Any) -> Address:
        return Address(data.get("country_code"), data.get("province_code"), data.get("city"))


class ConsentSchema(PayloadSchema):
    state = fields.String(allow_none=True, validate=validate.OneOf(CONSENT_STATES))
    opt_in_level = fields.String(allow_none=True, validate=validate.OneOf(OPT_IN_LEVELS))
    consent_updated_at = Instant(allow_none=True)


class MetafieldSchema(PayloadSchema):
    """A metafield of a customers/* payload (present when the subscription names its
    namespace); None for a type no filter reads."""

    namespace = fields.String(required=True)
    key = fields.String(required=True)
    type = fields.String(required=True)
    value = fields.Raw(allow_none=True)

    @post_load
    def to_metafield(self, data: dict[str, Any], **_: Any) -> Metafield | None:
        return metafield(data["namespace"], data["key"], data["type"], data.get("value"))


class CustomerSchema(PayloadSchema):
    """A customer, from customers/* or (partially) inside an order or checkout.

    `tags` and `email_marketing_consent` exist only in payloads before API 2025-01;
    absent, they stay None, meaning "this payload says nothing about them".
    """

    id = ShopifyId(required=True)
    gid = Gid("Customer", data_key="admin_graphql_api_id", allow_none=True)
    email = fields.String(allow_none=True, validate=validate.Length(max=320))
    phone = fields.String(allow_none=True, validate=validate.Length(max=64))
    first_name = fields.String(allow_none=True, validate=validate.Length(max=255))
    last_name = fields.String(allow_none=True, validate=validate.Length(max=255))
    state = fields.String(allow_none=True, validate=validate.OneOf(CUSTOMER_STATES))
    verified_email = fields.Boolean(allow_none=True)
    default_address = fields.Nested(AddressSchema, allow_none=True)
    addresses = fields.List(fields.Nested(AddressSchema), allow_none=True)
    created_at = Instant(allow_none=True)
    updated_at = Instant(allow_none=True)
    tags = TagList(allow_none=True)
    email_marketing_consent = fields.Nested(ConsentSchema, allow_none=True)
    metafields = fields.List(fields.Nested(MetafieldSchema), allow_none=True)

    @post_load
    def to_customer(self, data: dict[str, Any], **_: Any) -> CustomerData:
        consent = data.get("email_marketing_consent") or {}
        return CustomerData(
            platform_id=platform_id(data),
            email=data.get("email"),
            phone=data.get("phone"),
            first_name=data.get("first_name"),
            last_name=data.get("last_name"),
            state=data.get("state"),
            verified_email=data.get("verified_email"),
            address=data.get("default_address"),
            created_at=data.get("created_at"),
            updated_at=data.get("updated_at"),
            tags=data.get("tags"),
            email_marketing_state=consent.get("state"),
            email_marketing_opt_in_level=consent.get("opt_in_level"),
            email_consent_updated_at=consent.get("consent_updated_at"),
            addresses=_addresses(data.get("addresses")),
            metafields=_metafields(data.get("metafields")),
        )


def _addresses(listed: list[Address] | None) -> tuple[Address, ...] | None:
    return None if listed is None else tuple(listed)


def _metafields(listed: list[Metafield | None] | None) -> tuple[Metafield, ...] | None:
    return None if listed is None else tuple(m for m in listed if m is not None)


def partial_customer(**kwargs: Any) -> fields.Nested:
    """A customer inside an order or checkout: never a source of tags, consent, metafields
    or the address list (only its default address may fill a stub)."""
    excluded = ("tags", "email_marketing_consent", "addresses", "metafields")
    return fields.Nested(CustomerSchema, exclude=excluded, allow_none=True, **kwargs)


class CustomerDeleteSchema(PayloadSchema):
    id = ShopifyId(required=True)
    gid = Gid("Customer", data_key="admin_graphql_api_id", allow_none=True)


class ConsentUpdateSchema(PayloadSchema):
    customer_id = ShopifyId(required=True)
    email_marketing_consent = fields.Nested(ConsentSchema, required=True)


class SmsConsentUpdateSchema(PayloadSchema):
    """customers_marketing_consent/update: the customer's own `id`, not `customer_id`."""

    id = ShopifyId(required=True)
    sms_marketing_consent = fields.Nested(ConsentSchema, required=True)


class TagsChangedSchema(PayloadSchema):
    customer_id = Gid("Customer", data_key="customerId", required=True)
    tags = TagList(required=True)
    occurred_at = Instant(data_key="occurredAt", allow_none=True)


class AmountSpentSchema(PayloadSchema):
    amount = Amount(required=True)
    currency_code = fields.String(data_key="currencyCode", required=True, validate=CURRENCY)

    @post_load
    def to_minor(self, data: dict[str, Any], **_: Any) -> int:
        return to_minor(data["amount"], data["currency_code"])


class PurchasingSummarySchema(PayloadSchema):
    customer_id = Gid("Customer", data_key="customerId", required=True)
    orders_count = fields.Integer(data_key="numberOfOrders", strict=True, required=True)
    amount_spent_minor = fields.Nested(AmountSpentSchema, data_key="amountSpent", required=True)
    last_order_id = Gid("Order", data_key="lastOrderId", allow_none=True)
    occurred_at = Instant(data_key="occurredAt", allow_none=True)


class MergeSchema(PayloadSchema):
    kept_id = Gid("Customer", data_key="admin_graphql_api_customer_kept_id", allow_none=True)
    deleted_id = Gid("Customer", data_key="admin_graphql_api_customer_deleted_id", allow_none=True)
    status = fields.String(required=True)
