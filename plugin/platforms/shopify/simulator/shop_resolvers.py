"""Resolvers of the shop itself, its webhook subscriptions, and objects by global id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from plugin.platforms.shopify.simulator.registry import resolver
from plugin.platforms.shopify.simulator.state import IssuedToken, SimulatorState

GID_PREFIX = "gid://shopify/"


def lookup(state: SimulatorState, shop: str, gid: str) -> dict[str, Any] | None:
    """The object behind a global id as GraphQL resolves it (with `__typename`), or None."""
    kind, _, local = gid.removeprefix(GID_PREFIX).partition("/")
    if kind == "Product":
        return state.products.get(shop, {}).get(local)
    if kind == "Customer":
        customer = state.customer(shop, local)
        return customer.node() if customer else None
    if kind == "Order":
        order = state.orders.get(shop, {}).get(local)
        return order.node() if order else None
    if kind == "BulkOperation" and local.isdigit():
        op = state.bulk_operation(int(local))
        return op.node() if op and op.shop == shop else None
    return None


@resolver("shop")
def _shop(state: SimulatorState, shop: str, _token: IssuedToken) -> dict[str, Any]:
    data = state.shop(shop)
    return {
        "id": f"gid://shopify/Shop/{data.shop_id}",
        "name": data.name,
        "myshopifyDomain": data.domain,
        "ianaTimezone": data.timezone,
        "currencyCode": data.currency,
    }


@resolver("webhookSubscriptionCreate")
def _webhook_subscription_create(
    state: SimulatorState, shop: str, _token: IssuedToken
) -> Callable[..., Any]:
    def create(_info: Any, topic: str, webhookSubscription: dict[str, Any]) -> dict[str, Any]:
        uri = webhookSubscription.get("uri") or ""
        if not uri:
            return {
                "webhookSubscription": None,
                "userErrors": [
                    {"field": ["webhookSubscription", "uri"], "message": "Address can't be blank"}
                ],
            }
        sub = state.add_subscription(shop, topic, uri)
        if sub is None:
            return {
                "webhookSubscription": None,
                "userErrors": [
                    {
                        "field": ["webhookSubscription", "uri"],
                        "message": "Address for this topic has already been taken",
                    }
                ],
            }
        return {"webhookSubscription": sub, "userErrors": []}

    return create


@resolver("currentAppInstallation")
def _current_app_installation(
    state: SimulatorState, shop: str, token: IssuedToken
) -> dict[str, Any]:
    return {
        "accessScopes": [{"handle": scope} for scope in token.scopes],
        # A merchant's custom app is never billed through Shopify.
        "activeSubscriptions": [] if token.how == "custom" else state.active_subscriptions(shop),
    }


@resolver("node")
def _node(state: SimulatorState, shop: str, _token: IssuedToken) -> Callable[..., Any]:
    def node(_info: Any, id: str) -> dict[str, Any] | None:
        return lookup(state, shop, id)

    return node


@resolver("nodes")
def _nodes(state: SimulatorState, shop: str, _token: IssuedToken) -> Callable[..., Any]:
    def nodes(_info: Any, ids: list[str]) -> list[dict[str, Any] | None]:
        return [lookup(state, shop, gid) for gid in ids]

    return nodes
