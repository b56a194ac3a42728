"""Products no webhook brought are looked up with `nodes(ids:)` over real HTTP."""

from __future__ import annotations

from sqlalchemy import select

from plugin.db import utcnow
from plugin.jobs import lookup_unknown_products
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.profiles.models import Product, Purchase
from plugin.profiles.products import unknown_product_ids
from plugin.runtime import Runtime
from plugin.shops.models import Shop
from tests.support.profiles import apply_payload, line_item, order_payload, product_payload
from tests.support.simulator import install_via_exchange

SHOP = "lookup-shop.myshopify.com"


def installed_shop(runtime: Runtime, simulator: SimulatorHandle) -> Shop:
    install_via_exchange(runtime, simulator, SHOP)
    with runtime.sessions() as session:
        shop = session.scalar(select(Shop).where(Shop.domain == SHOP))
    assert shop is not None
    return shop


def graphql_calls(simulator: SimulatorHandle, name: str) -> int:
    return sum(
        1 for r in simulator.state.requests if r.kind == "graphql" and name in r.body["query"]
    )


def test_unknown_products_get_their_type_and_reach_purchases(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop = installed_shop(sim_runtime, simulator)
    simulator.state.add_product(
        SHOP, "11", title="Runner", product_type="Shoes", vendor="Nike", category="aa-8-1"
    )
    lines = [line_item("11", "60.00", id=1), line_item("12", "40.00", id=2)]
    order = order_payload("1", customer="5", total="100.00", updated_at="2026-03-01T00:00:00Z",
                          lines=lines)  # fmt: skip
    with sim_runtime.sessions() as session:
        apply_payload(session, shop, "orders/create", order, settings=sim_runtime.settings)
        assert unknown_product_ids(session, shop.id) == ["11", "12"]

    lookup_unknown_products(sim_runtime, utcnow())

    with sim_runtime.sessions() as session:
        products = {p.platform_id: p for p in session.scalars(select(Product))}
        assert (products["11"].product_type, products["11"].vendor_cf) == ("Shoes", "nike")
        assert products["11"].category_id == "aa-8-1"  # `category { id }` of the lookup
        # 12 is gone from the shop: stored empty, so it is not asked for again
        assert products["12"].title is None and products["12"].product_type is None
        types = sorted(
            str(p.product_type_cf) for p in session.scalars(select(Purchase)) if p.product_type_cf
        )
        assert types == ["shoes"]
        assert unknown_product_ids(session, shop.id) == []
    assert graphql_calls(simulator, "ProductsByIds") == 1
    lookup_unknown_products(sim_runtime, utcnow())
    assert graphql_calls(simulator, "ProductsByIds") == 1


def test_a_later_product_webhook_replaces_what_a_lookup_stored(
    sim_runtime: Runtime, simulator: SimulatorHandle
) -> None:
    shop = installed_shop(sim_runtime, simulator)
    order = order_payload("1", customer="5", total="10.00", updated_at="2026-03-01T00:00:00Z",
                          lines=[line_item("12", "10.00")])  # fmt: skip
    with sim_runtime.sessions() as session:
        apply_payload(session, shop, "orders/create", order, settings=sim_runtime.settings)
    lookup_unknown_products(sim_runtime, utcnow())
    product = product_payload("12", product_type="Bags", vendor="Acme",
                              updated_at="2020-01-01T00:00:00Z")  # fmt: skip
    with sim_runtime.sessions() as session:
        apply_payload(session, shop, "products/update", product, settings=sim_runtime.settings)
        stored = session.scalar(select(Product).where(Product.platform_id == "12"))
        assert stored is not None and stored.product_type == "Bags"
