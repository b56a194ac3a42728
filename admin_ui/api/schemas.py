"""Marshmallow schemas of the admin API: what it answers and what it accepts."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from admin_ui.i18n import LANGUAGES
from plugin.segments.members import MAX_PER_PAGE, SORTS


class ErrorSchema(Schema):
    error = fields.String(required=True)
    detail = fields.Raw(required=True)
    line = fields.Integer()
    column = fields.Integer()


class ShopSchema(Schema):
    id = fields.String()
    domain = fields.String()
    install_state = fields.String()
    auth_method = fields.String(allow_none=True)
    timezone = fields.String()
    currency = fields.String()
    scopes = fields.List(fields.String())


class SegmentSchema(Schema):
    name = fields.String()
    slug = fields.String()
    kind = fields.String(metadata={"description": "builtin or custom"})
    enabled = fields.Boolean()
    size = fields.Integer()
    query = fields.String()
    tag = fields.String(allow_none=True)
    last_evaluated_at = fields.AwareDateTime(allow_none=True)
    tag_refused = fields.Integer()
    push_tag = fields.Boolean(metadata={"description": "members carry the tag at the shop"})
    flags = fields.List(fields.String(), metadata={"description": "health flag keys"})


class PushTagSchema(Schema):
    push_tag = fields.Boolean(required=True)


class PushTagResultSchema(Schema):
    slug = fields.String()
    push_tag = fields.Boolean()
    queued = fields.Integer(metadata={"description": "customers queued to gain or lose the tag"})


class CustomerRowSchema(Schema):
    customer_id = fields.String()
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    orders_count = fields.Integer()
    total_spent_minor = fields.Integer()
    last_order_at = fields.AwareDateTime(allow_none=True)
    entered_at = fields.AwareDateTime(allow_none=True)


class PreviewRequestSchema(Schema):
    query = fields.String(required=True, validate=validate.Length(min=1, max=10_000))


class PreviewSchema(Schema):
    canonical = fields.String()
    count = fields.Integer()
    sample = fields.List(fields.Nested(CustomerRowSchema))
    notices = fields.List(fields.String())


class MembersQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))
    q = fields.String(load_default="", validate=validate.Length(max=200))
    sort = fields.String(load_default="entered", validate=validate.OneOf(list(SORTS)))
    dir = fields.String(load_default="desc", validate=validate.OneOf(["asc", "desc"]))


class MemberPageSchema(Schema):
    items = fields.List(fields.Nested(CustomerRowSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()


class CustomerSchema(Schema):
    shop = fields.String()
    customer_id = fields.String()
    currency = fields.String()
    profile = fields.Dict()
    consent = fields.Dict()
    tags = fields.List(fields.String())
    metrics = fields.Dict()
    reported_by_platform = fields.Dict()
    product_types = fields.List(fields.Dict())
    vendors = fields.List(fields.Dict())
    orders = fields.List(fields.Dict())
    segments = fields.List(fields.Dict(), metadata={"description": "stays, open and closed"})


class SettingsChangeSchema(Schema):
    """What PATCH /api/settings accepts; every field is optional."""

    language = fields.String(allow_none=True, validate=validate.OneOf(LANGUAGES))
    segment_min_size = fields.Integer(validate=validate.Range(min=1, max=1_000_000))


class SettingsSchema(SettingsChangeSchema):
    tag_prefix = fields.String()
    timezone = fields.String()
    currency = fields.String()


class PricingPlanSchema(Schema):
    name = fields.String()
    price_minor = fields.Integer(metadata={"description": "per month, minor units of currency"})
    customer_limit = fields.Integer(allow_none=True, metadata={"description": "null: unlimited"})
    current = fields.Boolean()


class PlanSchema(Schema):
    billed_by_shopify = fields.Boolean(
        metadata={"description": "false for custom-app and standalone installs: no limits"}
    )
    plan = fields.String(metadata={"description": "the plan in force (the free plan if none)"})
    status = fields.String(metadata={"description": "the subscription's status, NONE if none"})
    customers = fields.Integer()
    customer_limit = fields.Integer(allow_none=True)
    over_limit = fields.Boolean(metadata={"description": "tag pushes and triggers paused"})
    currency = fields.String()
    plans = fields.List(fields.Nested(PricingPlanSchema))
    choose_url = fields.String(
        allow_none=True, metadata={"description": "Shopify's plan page, to open at top level"}
    )
