"""One customer over JSON: profile, metrics, orders and segment stays."""

from __future__ import annotations

from flask import jsonify
from werkzeug.wrappers import Response

from admin_ui.api.schemas import CustomerSchema
from admin_ui.api.spec import api_route
from admin_ui.embedded import runtime
from admin_ui.viewer import current_viewer
from plugin.errors import NotFoundError
from plugin.profiles.customers import find_customer
from plugin.profiles.queries import customer_document
from plugin.segments.services import export_memberships
from plugin.shops.models import Shop


@api_route(
    "/api/customers/<customer_id>",
    "GET",
    summary="A customer's profile, metrics, orders and segment stays",
    response=CustomerSchema(),
)
def customer(customer_id: str) -> Response:
    shop_id = current_viewer().shop_id
    with runtime().sessions() as db:
        shop = db.get(Shop, shop_id)
        document = customer_document(db, shop, customer_id) if shop else None
        if document is None:
            raise NotFoundError(f"no customer {customer_id}")
        found = find_customer(db, shop_id, customer_id)
        if found is not None:
            document["segments"] = export_memberships(db, shop_id, found.id)
    return jsonify(CustomerSchema().dump(document))
