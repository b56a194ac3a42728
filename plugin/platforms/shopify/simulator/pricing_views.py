"""The simulated plan selection page Shopify hosts for an app on Shopify App Pricing: the
listing's plans, one form each; choosing one activates it and sends `app_subscriptions/update`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, request
from markupsafe import Markup, escape

from plugin.manifest import PricingPlan, pricing
from plugin.platforms.shopify.simulator.admin_views import STYLE
from plugin.platforms.shopify.simulator.deliveries import deliver
from plugin.platforms.shopify.simulator.oauth_views import sim
from plugin.platforms.shopify.simulator.state import SimulatorState

blueprint = Blueprint("sim_pricing", __name__)
TOPIC = "app_subscriptions/update"


def subscription_payload(state: SimulatorState, shop: str, sub: dict[str, Any]) -> dict[str, Any]:
    """The body of app_subscriptions/update for one subscription."""
    return {
        "app_subscription": {
            "admin_graphql_api_id": sub["id"],
            "name": sub["name"],
            "status": sub["status"],
            "admin_graphql_api_shop_id": f"gid://shopify/Shop/{state.shop(shop).shop_id}",
            "created_at": sub["createdAt"],
            "updated_at": sub["updatedAt"],
        }
    }


def _checked_handle(app_handle: str) -> None:
    if app_handle != pricing().app_handle:
        abort(404)


def _card(plan: PricingPlan, current: bool, currency: str) -> str:
    reach = f"up to {plan.customer_limit:,} customers" if plan.customer_limit else "unlimited"
    name = escape(plan.name)
    field = f'<input type="hidden" name="plan" value="{name}">'
    button = f'<button type="submit">Choose {name}</button>'
    action = (
        "<p><strong>Current plan</strong></p>"
        if current
        else f'<form method="post">{field}{button}</form>'
    )

    price = f"{escape(plan.monthly_price)} {escape(currency)} / month · {reach}"
    return f"<section><h2>{name}</h2><p>{price}</p>{action}</section>"


@blueprint.get("/<shop>/admin/charges/<app_handle>/pricing_plans")
def pricing_plans(shop: str, app_handle: str) -> Any:
    _checked_handle(app_handle)
    state = sim()
    current = next((s["name"] for s in state.active_subscriptions(shop)), None)
    listing = pricing()
    cards = "".join(_card(plan, plan.name == current, listing.currency) for plan in listing.plans)
    head = f"<!doctype html><meta charset=utf-8><title>Plans · {escape(shop)}</title>"
    body = f"<h1>Choose a plan</h1><p>{escape(shop)}</p>{cards}"
    return Markup(f"{head}<style>{STYLE}</style>{body}")


@blueprint.post("/<shop>/admin/charges/<app_handle>/pricing_plans")
def choose_plan(shop: str, app_handle: str) -> Any:
    """Activate the chosen plan, tell the app (signed webhooks, sent before answering), then
    send the merchant to the app's welcome link, as Shopify does."""
    _checked_handle(app_handle)
    name = request.form.get("plan", "")
    if name not in {p.name for p in pricing().plans}:
        abort(400)
    state = sim()
    for sub in state.choose_plan(shop, name):
        deliver(state, shop, TOPIC, subscription_payload(state, shop, sub))
    if not state.application_url:
        return Markup(f"<!doctype html><p>The {escape(name)} plan is active.</p>")
    app = urlsplit(state.application_url)
    return redirect(f"{app.scheme}://{app.netloc}{pricing().welcome_path}", code=303)
