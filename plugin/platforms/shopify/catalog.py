"""Looking up products the shop never sent a webhook for, with `nodes(ids:)`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from plugin.events import ProductData
from plugin.platforms.shopify.client import AdminClient
from plugin.platforms.shopify.documents import PRODUCTS_BY_IDS
from plugin.platforms.shopify.payload_fields import category_id
from plugin.runtime import Runtime

# Shopify accepts up to 250 ids per `nodes` call; smaller calls keep the query cost low.
BATCH = 100


def fetch_products(
    runtime: Runtime, shop: str, access_token: str, product_ids: list[str]
) -> dict[str, ProductData | None]:
    """Each id with its product, or None when the shop no longer has it."""
    client = AdminClient(runtime.http, runtime.settings, shop, access_token)
    found: dict[str, ProductData | None] = {}
    for start in range(0, len(product_ids), BATCH):
        ids = product_ids[start : start + BATCH]
        data = client.execute(PRODUCTS_BY_IDS, {"ids": [_gid(i) for i in ids]})
        nodes = data.get("nodes") or []
        for product_id, node in zip(ids, nodes, strict=False):
            found[product_id] = _product(node) if node else None
    return found


def _gid(product_id: str) -> str:
    return f"gid://shopify/Product/{product_id}"


def _product(node: dict[str, Any]) -> ProductData:
    updated = node.get("updatedAt")
    return ProductData(
        platform_id=str(node["id"]).rsplit("/", 1)[-1],
        title=node.get("title"),
        product_type=node.get("productType") or None,
        vendor=node.get("vendor") or None,
        tags=tuple(node.get("tags") or ()),
        updated_at=datetime.fromisoformat(updated) if updated else None,
        category_id=category_id(node.get("category")),
    )
