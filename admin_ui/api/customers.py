"""One customer over JSON: profile, metrics, RFM, orders, segment stays and the timeline."""

from __future__ import annotations

from dataclasses import asdict

from flask import jsonify, request
from werkzeug.wrappers import Response

from admin_ui.api.schemas import CustomerSchema, PageQuerySchema, TimelinePageSchema
from admin_ui.api.segments import load, page_document
from admin_ui.api.spec import api_route
from admin_ui.embedded import runtime
from admin_ui.i18n import select_locale
from admin_ui.viewer import current_viewer
from plugin.errors import NotFoundError
from plugin.predictions.report import customer_prediction
from plugin.profiles.customers import find_customer
from plugin.profiles.queries import customer_document
from plugin.reports.customer import customer_rfm
from plugin.reports.timeline import customer_timeline
from plugin.segments.services import export_memberships
from plugin.shops.models import Shop

PAGE_PARAMS = [
    {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
    {
        "name": "per_page",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
    },
]


@api_route(
    "/api/customers/<customer_id>",
    "GET",
    summary="A customer's profile, metrics, RFM, orders and segment stays",
    response=CustomerSchema(),
)
def customer(customer_id: str) -> Response:
    shop_id = current_viewer().shop_id
    language = select_locale()[:2]  # before the session: it may read the shop's setting
    with runtime().sessions() as db:
        shop = db.get(Shop, shop_id)
        document = customer_document(db, shop, customer_id) if shop else None
        found = find_customer(db, shop_id, customer_id)
        if document is None or found is None:
            raise NotFoundError(f"no customer {customer_id}")
        document["segments"] = export_memberships(db, shop_id, found.id)
        document["rfm"] = asdict(customer_rfm(db, shop_id, found.id))
        document["prediction"] = customer_prediction(db, shop_id, found.id, language)
    return jsonify(CustomerSchema().dump(document))


@api_route(
    "/api/customers/<customer_id>/timeline",
    "GET",
    summary="A page of the customer's timeline, newest first",
    response=TimelinePageSchema(),
    query=PAGE_PARAMS,
)
def timeline(customer_id: str) -> Response:
    args = load(PageQuerySchema(), request.args)
    shop_id = current_viewer().shop_id
    with runtime().sessions() as db:
        found = find_customer(db, shop_id, customer_id)
        if found is None:
            raise NotFoundError(f"no customer {customer_id}")
        page = customer_timeline(db, shop_id, found.id, **args)
    document = page_document([asdict(e) for e in page.entries], page)
    return jsonify(TimelinePageSchema().dump(document))
