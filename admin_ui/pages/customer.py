"""Customer page: profile and metrics, RFM scores and group, segment stays with their
reasons, and the timeline paged in the database (its pages load by htmx)."""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.wrappers import Response

from admin_ui.embedded import runtime
from admin_ui.i18n import select_locale
from admin_ui.pages import blueprint
from admin_ui.rendering import render_fragment, render_page
from admin_ui.viewer import current_viewer, page_view
from plugin.errors import NotFoundError
from plugin.predictions.report import customer_prediction
from plugin.profiles.customers import find_customer
from plugin.profiles.models import Customer
from plugin.reports.customer import customer_rfm, customer_stays
from plugin.reports.timeline import TimelinePage, customer_timeline


def page_arg() -> int:
    raw = request.args.get("page", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else 1


def _customer(customer_id: str) -> Customer:
    with runtime().sessions() as db:
        found = find_customer(db, current_viewer().shop_id, customer_id)
    if found is None:
        raise NotFoundError(f"no customer {customer_id}")
    return found


def _timeline(customer: Customer) -> TimelinePage:
    with runtime().sessions() as db:
        return customer_timeline(db, customer.shop_id, customer.id, page=page_arg())


@blueprint.get("/admin/customers/<customer_id>")
@page_view
def customer_detail(customer_id: str) -> Response:
    customer = _customer(customer_id)
    language = select_locale()[:2]  # before the session: it may read the shop's setting
    with runtime().sessions() as db:
        context: dict[str, Any] = {
            "rfm": customer_rfm(db, customer.shop_id, customer.id),
            "stays": customer_stays(db, customer.shop_id, customer.id),
            "prediction": customer_prediction(db, customer.shop_id, customer.id, language),
        }
    context["timeline"] = _timeline(customer)
    return render_page("admin_ui/customers/detail.html", customer=customer, **context)


@blueprint.get("/admin/customers/<customer_id>/timeline")
@page_view
def customer_timeline_part(customer_id: str) -> Response:
    customer = _customer(customer_id)
    return render_fragment(
        "admin_ui/customers/_timeline.html", customer=customer, timeline=_timeline(customer)
    )
