"""The shop's plan over JSON: what the Plan page shows."""

from __future__ import annotations

from dataclasses import asdict

from flask import jsonify
from werkzeug.wrappers import Response

from admin_ui.api.schemas import PlanSchema
from admin_ui.api.spec import api_route
from admin_ui.pages.plan import load_plan_context


@api_route(
    "/api/plan", "GET", summary="The shop's plan and its customer limit", response=PlanSchema()
)
def get_plan() -> Response:
    context = load_plan_context()
    view = context["view"]
    data = {
        "billed_by_shopify": view.billable,
        "plan": view.plan.name,
        "status": view.subscription.status,
        "customers": view.customers,
        "customer_limit": view.plan.customer_limit if view.billable else None,
        "over_limit": view.overage is not None,
        "currency": context["currency"],
        "plans": [asdict(row) for row in context["rows"]],
        "choose_url": context["choose_url"],
    }
    return jsonify(PlanSchema().dump(data))
