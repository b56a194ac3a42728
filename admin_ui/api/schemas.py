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


class CompleteQuerySchema(Schema):
    query = fields.String(load_default="", validate=validate.Length(max=10_000))
    cursor = fields.Integer(load_default=None, validate=validate.Range(min=0))


class SuggestionSchema(Schema):
    text = fields.String()
    kind = fields.String()
    detail = fields.String()
    count = fields.Integer(allow_none=True)


class CompletionSchema(Schema):
    start = fields.Integer()
    end = fields.Integer()
    suggestions = fields.List(fields.Nested(SuggestionSchema))


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
    rfm = fields.Nested(lambda: RfmScoresSchema(), metadata={"description": "scores 1-5, group"})
    prediction = fields.Nested(
        lambda: PredictionSchema(),
        allow_none=True,
        metadata={"description": "churn risk and value, explained; null before a score"},
    )


class PredictionSchema(Schema):
    kind = fields.String(
        allow_none=True, metadata={"description": "model | heuristic; null: no score (reason)"}
    )
    no_score_reason = fields.String(allow_none=True)
    churn_risk = fields.Float(allow_none=True, metadata={"description": "P(no order in 90 days)"})
    p_alive = fields.Float(allow_none=True)
    predicted_orders_90d = fields.Float(allow_none=True)
    expected_next_order_at = fields.DateTime(allow_none=True)
    predicted_clv_minor = fields.Integer(allow_none=True, metadata={"description": "12 months"})
    predicted_clv_percentile = fields.Integer(allow_none=True)
    fitted_at = fields.DateTime()
    explanation = fields.String(metadata={"description": "the numbers in a sentence"})


class SettingsChangeSchema(Schema):
    """What PATCH /api/settings (and the Settings page) accepts; every field is optional."""

    language = fields.String(allow_none=True, validate=validate.OneOf(LANGUAGES))
    segment_min_size = fields.Integer(validate=validate.Range(min=1, max=1_000_000))
    sweep_minutes = fields.Integer(
        validate=validate.Range(min=5, max=1440),
        metadata={"description": "how often segments are re-evaluated as time passes"},
    )


class SettingsSchema(SettingsChangeSchema):
    tag_prefix = fields.String()
    timezone = fields.String()
    currency = fields.String()


class PageQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class RfmScoresSchema(Schema):
    r = fields.Integer(allow_none=True)
    f = fields.Integer(allow_none=True)
    m = fields.Integer(allow_none=True)
    group = fields.String(allow_none=True, metadata={"description": "this app's (rfm_segment)"})
    shopify_group = fields.String(
        allow_none=True, metadata={"description": "Shopify's own (rfm_group), once imported"}
    )
    shopify_spend_tier = fields.String(
        allow_none=True, metadata={"description": "Shopify's predicted_spend_tier, once imported"}
    )


class TimelineEntrySchema(Schema):
    kind = fields.String(
        metadata={"description": "order, checkout, consent, segment, tags or trigger"}
    )
    at = fields.AwareDateTime()
    label = fields.String(allow_none=True)
    amount_minor = fields.Integer(allow_none=True)
    state = fields.String(allow_none=True)
    detail = fields.String(allow_none=True)
    added = fields.List(fields.String())
    removed = fields.List(fields.String())


class TimelinePageSchema(Schema):
    items = fields.List(fields.Nested(TimelineEntrySchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()


class RfmCellSchema(Schema):
    r = fields.Integer()
    fm = fields.Integer()
    group = fields.String()
    customers = fields.Integer()
    revenue_minor = fields.Integer(metadata={"description": "lifetime net spend, minor units"})
    segment = fields.String(allow_none=True, metadata={"description": "the group's segment slug"})


class RfmMoveSchema(Schema):
    before = fields.String(allow_none=True, metadata={"description": "null: in no group then"})
    after = fields.String()
    customers = fields.Integer()


class RfmSchema(Schema):
    cells = fields.List(fields.Nested(RfmCellSchema))
    prospects = fields.Integer()
    unranked = fields.Integer()
    movement_days = fields.Integer()
    movement = fields.List(fields.Nested(RfmMoveSchema))
    movement_source = fields.String(
        metadata={"description": "where movement is read from: RFM built-in segment stays"}
    )


class TriggerCountsSchema(Schema):
    fired = fields.Integer()
    skipped = fields.Integer()
    pending = fields.Integer()
    cancelled = fields.Integer()
    converted = fields.Integer(metadata={"description": "fired, then a counted order within 7 d"})
    reasons = fields.List(
        fields.Dict(), metadata={"description": "top reasons skipped: {reason, count}"}
    )


class FlowTemplateSchema(Schema):
    key = fields.String()
    handle = fields.String(metadata={"description": "the flow_template extension's handle"})
    name = fields.String()
    description = fields.String()
    url = fields.String(metadata={"description": "opens Flow in the shop's admin (top level)"})


class TriggerFlowSchema(Schema):
    workflow = fields.Boolean(
        allow_none=True,
        metadata={"description": "an enabled Flow workflow uses it; null: Flow has not said"},
    )
    templates = fields.List(fields.Nested(FlowTemplateSchema))


class TriggerSchema(Schema):
    name = fields.String(metadata={"description": "a trigger, or general (shop-wide settings)"})
    enabled = fields.Boolean(allow_none=True)
    settings = fields.Dict(metadata={"description": "effective settings (defaults filled in)"})
    counts = fields.Nested(TriggerCountsSchema, allow_none=True)
    flow = fields.Nested(
        TriggerFlowSchema, allow_none=True, metadata={"description": "null for general"}
    )
    webhook_secret = fields.String(
        allow_none=True,
        metadata={"description": "general only: 'set' or null; the secret is never returned"},
    )
    new_secret = fields.String(
        metadata={"description": "only in the answer to the edit that made a new secret"}
    )


class TriggerChangeSchema(Schema):
    """What PATCH /api/triggers/<name> accepts: `shopseg triggers set` key=value pairs."""

    settings = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(allow_none=True),
        required=True,
        metadata={"description": 'e.g. {"steps": "1h,24h"}; webhook_secret: "rotate"'},
    )


class ActivityQuerySchema(PageQuerySchema):
    failed = fields.Boolean(load_default=False)


class DeadDeliverySchema(Schema):
    id = fields.Integer()
    topic = fields.String()
    received_at = fields.AwareDateTime()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)


class ActivitySchema(Schema):
    items = fields.List(fields.Dict(), metadata={"description": "`shopseg activity --json` rows"})
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()
    skipped = fields.List(
        fields.Dict(), metadata={"description": "`shopseg activity --skipped --json` rows"}
    )
    dead_deliveries = fields.List(fields.Nested(DeadDeliverySchema))
    dead_total = fields.Integer()


class RetryRequestSchema(Schema):
    ids = fields.List(
        fields.Integer(), metadata={"description": "rows to retry; omitted: every dead row"}
    )


class RetriedSchema(Schema):
    retried = fields.Integer()


class RunSchema(Schema):
    run_id = fields.Integer()
    state = fields.String()
    why = fields.String()
    partial_history = fields.Boolean()
    counts = fields.Dict()
    started_at = fields.AwareDateTime(allow_none=True)
    finished_at = fields.AwareDateTime(allow_none=True)
    error = fields.String(allow_none=True)
    lines_done = fields.Integer()
    lines_expected = fields.Integer()


class SyncStatusSchema(Schema):
    inbox_counts = fields.Dict(metadata={"description": "deliveries by status"})
    oldest_pending_at = fields.AwareDateTime(allow_none=True)
    inbox_lag_seconds = fields.Float(allow_none=True, metadata={"description": "oldest pending"})
    last_webhooks = fields.List(fields.Dict(), metadata={"description": "{topic, received_at}"})
    history_import = fields.Nested(RunSchema, allow_none=True)
    reconcile = fields.Nested(RunSchema, allow_none=True)


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
