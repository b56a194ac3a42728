"""Plan: the shop's plan and its customers against the plan's limit, the listing's plans,
and the way to Shopify's hosted plan page (Shopify App Pricing)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from admin_ui.embedded import runtime
from admin_ui.pages import blueprint
from admin_ui.rendering import render_page
from admin_ui.viewer import current_viewer, page_view
from plugin.billing.services import plan_overview
from plugin.manifest import pricing
from plugin.platforms.shopify.pricing import pricing_page_url
from plugin.profiles.money import currency_exponent
from plugin.settings import Settings
from plugin.shops.models import Shop


@dataclass(frozen=True)
class PlanRow:
    name: str
    price_minor: int
    customer_limit: int | None
    current: bool


def plan_context(db: Session, shop: Shop, settings: Settings) -> dict[str, Any]:
    """What the page and `/api/plan` show; no link where Shopify does not bill the shop."""
    view = plan_overview(db, shop)
    currency = pricing().currency
    exponent = currency_exponent(currency)
    rows = [
        PlanRow(
            p.name,
            int(Decimal(p.monthly_price).scaleb(exponent)),
            p.customer_limit,
            view.billable and p == view.plan,
        )
        for p in view.plans
    ]
    choose_url = pricing_page_url(settings, shop.domain) if view.billable else None
    return {"view": view, "rows": rows, "currency": currency, "choose_url": choose_url}


def load_plan_context() -> dict[str, Any]:
    rt = runtime()
    with rt.sessions() as db:
        shop = db.get(Shop, current_viewer().shop_id)
        if shop is None:  # the viewer was just loaded; only a concurrent uninstall gets here
            raise LookupError("the viewer's shop vanished")
        return plan_context(db, shop, rt.settings)


@blueprint.get("/admin/plan")
@page_view
def plan() -> Response:
    return render_page("admin_ui/plan.html", **load_plan_context())
