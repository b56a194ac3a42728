"""Resolvers of the shop's orders and products (paged, or all of them in a bulk query).

As Shopify, a token without `read_all_orders` sees only the last 60 days of orders.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from graphql import GraphQLResolveInfo

from plugin.platforms.shopify.simulator.connections import connection_of, forward_page
from plugin.platforms.shopify.simulator.customer_resolvers import searched
from plugin.platforms.shopify.simulator.registry import resolver
from plugin.platforms.shopify.simulator.state import IssuedToken, SimulatorState

RECENT = timedelta(days=60)
ALL_ORDERS = "read_all_orders"


def _paged(nodes: Callable[[], list[dict[str, Any]]]) -> Callable[..., Any]:
    def connection(
        info: GraphQLResolveInfo, first: int | None = None, after: str | None = None, **rest: Any
    ) -> dict[str, Any]:
        page = forward_page(info, first, after, rest)
        return connection_of(searched(nodes(), rest.get("query")), *page)

    return connection


@resolver("orders")
def _orders(state: SimulatorState, shop: str, token: IssuedToken) -> Callable[..., Any]:
    def nodes() -> list[dict[str, Any]]:
        orders = state.shop_orders(shop)
        if ALL_ORDERS not in token.scopes:
            since = datetime.now(UTC) - RECENT
            orders = [o for o in orders if o.processed_at >= since]
        return [o.node() for o in orders]

    return _paged(nodes)


@resolver("products")
def _products(state: SimulatorState, shop: str, _token: IssuedToken) -> Callable[..., Any]:
    return _paged(lambda: state.shop_products(shop))
