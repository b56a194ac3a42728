"""Products: where order lines get their product type (line items carry none) and tags."""

from __future__ import annotations

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session

from plugin.db import insert_for, lock_or_create
from plugin.events import ProductData, ProductUpserted
from plugin.profiles.customers import is_newer
from plugin.profiles.models import OrderLine, Product, ProductTag, Purchase


def casefold(value: str | None) -> str | None:
    return value.strip().casefold() if value and value.strip() else None


def upsert_product(session: Session, shop_id: int, data: ProductData, version: str) -> bool:
    """Insert or update a product over an older version; returns whether it was written.

    Also the entry point for products fetched by GraphQL `nodes(ids:)` (unknown products).
    """
    product = lock_or_create(session, Product, shop_id=shop_id, platform_id=data.platform_id)
    if not is_newer(version, product.version):
        return False
    product.title = data.title
    product.product_type = data.product_type
    product.product_type_cf = casefold(data.product_type)
    product.vendor = data.vendor
    product.vendor_cf = casefold(data.vendor)
    product.category_id = data.category_id
    product.version = version
    _replace_tags(session, product, data.tags)
    _update_purchases(session, product)
    return True


def _replace_tags(session: Session, product: Product, tags: tuple[str, ...]) -> None:
    session.flush()
    session.execute(delete(ProductTag).where(ProductTag.product_id == product.id))
    rows = {
        casefold(t): {"shop_id": product.shop_id, "product_id": product.id, "tag": t.strip()}
        for t in tags
        if casefold(t)
    }
    if rows:
        values = [{**row, "tag_cf": key} for key, row in rows.items()]
        session.execute(insert_for(session, ProductTag), values)


def _update_purchases(session: Session, product: Product) -> None:
    """Purchases already recorded for this product take its (new) type and vendor."""
    values: dict[str, object] = {"product_type_cf": product.product_type_cf}
    if product.vendor_cf is not None:
        values["vendor_cf"] = product.vendor_cf
    session.execute(
        update(Purchase)
        .where(
            Purchase.shop_id == product.shop_id,
            Purchase.product_platform_id == product.platform_id,
        )
        .values(**values)
    )


def apply_product_upserted(session: Session, shop_id: int, event: ProductUpserted) -> set[int]:
    upsert_product(session, shop_id, event.product, event.version)
    return set()  # no metric depends on products; purchases were updated in place


def unknown_product_ids(session: Session, shop_id: int, limit: int = 250) -> list[str]:
    """Product ids on order lines with no products row: to look up with `nodes(ids:)`."""
    known = exists().where(
        Product.shop_id == OrderLine.shop_id, Product.platform_id == OrderLine.product_platform_id
    )
    stmt = (
        select(OrderLine.product_platform_id)
        .where(OrderLine.shop_id == shop_id, OrderLine.product_platform_id.is_not(None), ~known)
        .group_by(OrderLine.product_platform_id)
        .order_by(func.min(OrderLine.id))
        .limit(limit)
    )
    return [pid for pid in session.scalars(stmt) if pid is not None]
