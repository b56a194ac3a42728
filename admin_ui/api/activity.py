"""The activity log over JSON, and retries of failed pushes and dead deliveries."""

from __future__ import annotations

from dataclasses import asdict

from flask import jsonify, request
from werkzeug.wrappers import Response

from admin_ui.api.customers import PAGE_PARAMS
from admin_ui.api.schemas import (
    ActivityQuerySchema,
    ActivitySchema,
    RetriedSchema,
    RetryRequestSchema,
)
from admin_ui.api.segments import load, page_document
from admin_ui.api.spec import api_route
from admin_ui.embedded import runtime
from admin_ui.pages.activity import activity_context
from admin_ui.viewer import current_viewer
from plugin.db import utcnow
from plugin.inbox import services as inbox
from plugin.outbox import services as outbox
from plugin.outbox.activity import activity_json
from plugin.platforms.shopify.install import PLATFORM
from plugin.triggers.decisions import decision_json

FAILED_PARAM = {"name": "failed", "in": "query", "required": False, "schema": {"type": "boolean"}}


@api_route(
    "/api/activity",
    "GET",
    summary="Pushes to the shop (paged), triggers that sent nothing, dead deliveries",
    response=ActivitySchema(),
    query=[*PAGE_PARAMS, FAILED_PARAM],
)
def list_activity() -> Response:
    args = load(ActivityQuerySchema(), request.args)
    context = activity_context(args["failed"], args["page"], args["per_page"])
    pushed, customers = context["pushed"], context["customers"]
    items = [activity_json(r, customers.get(r.customer_id or 0)) for r in pushed.rows]
    document = page_document(items, pushed) | {
        "skipped": [
            decision_json(f, customers.get(f.customer_id or 0)) for f in context["decisions"]
        ],
        "dead_deliveries": [asdict(d) for d in context["dead"]],
        "dead_total": context["dead_total"],
    }
    return jsonify(ActivitySchema().dump(document))


def _ids() -> list[int] | None:
    ids: list[int] | None = load(RetryRequestSchema(), request.get_json(silent=True) or {}).get(
        "ids"
    )
    return ids


@api_route(
    "/api/activity/outbox/retry",
    "POST",
    summary="Re-queue failed (dead) pushes: those given, or all",
    response=RetriedSchema(),
    body=RetryRequestSchema(),
)
def retry_outbox() -> Response:
    with runtime().sessions.begin() as db:
        count = outbox.retry_dead(db, current_viewer().shop_id, utcnow(), _ids())
    return jsonify(RetriedSchema().dump({"retried": count}))


@api_route(
    "/api/activity/inbox/retry",
    "POST",
    summary="Re-queue dead webhook deliveries: those given, or all",
    response=RetriedSchema(),
    body=RetryRequestSchema(),
)
def retry_inbox() -> Response:
    with runtime().sessions.begin() as db:
        count = inbox.retry_dead(db, PLATFORM, current_viewer().domain, _ids())
    return jsonify(RetriedSchema().dump({"retried": count}))
