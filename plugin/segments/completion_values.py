"""The shop's own values for autocomplete (tags, languages, email domains, products,
metafield names): one grouped query per request, most common first, scoped to the shop."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from plugin.db import like_literal
from plugin.profiles.facts_models import CustomerMetafield
from plugin.profiles.models import Customer, CustomerTag, Product, ProductTag
from plugin.segments.completion import Values
from plugin.segments.fields import email_domain

# source → (the value, the table's shop column, extra conditions)
SOURCES: dict[str, tuple[Any, Any, tuple[ColumnElement[bool], ...]]] = {
    "customers.locale": (Customer.locale, Customer.shop_id, ()),
    "customers.country_code": (Customer.country_code, Customer.shop_id, ()),
    "customers.email_cf": (email_domain(Customer.email_cf), Customer.shop_id, ()),
    "customer_tags.tag": (CustomerTag.tag, CustomerTag.shop_id, (CustomerTag.present,)),
    "product_tags.tag": (ProductTag.tag, ProductTag.shop_id, ()),
    "products.product_type": (Product.product_type, Product.shop_id, ()),
    "products.vendor": (Product.vendor, Product.shop_id, ()),
}


def shop_values(session: Session, shop_id: int) -> Values:
    """A `Values` reading this shop's data."""

    def values(source: str, prefix: str, limit: int) -> list[tuple[str, int, str]]:
        if source == "products.platform_id":
            return _products(session, shop_id, prefix, limit)
        if source == "customer_metafields.name":
            return _metafield_names(session, shop_id, prefix, limit)
        if source not in SOURCES:
            return []
        column, shop_column, extra = SOURCES[source]
        value = column.label("value")
        rows = session.execute(
            select(value, func.count().label("n"))
            .where(shop_column == shop_id, value.is_not(None), _starts(value, prefix), *extra)
            .group_by(value)
            .order_by(func.count().desc(), value)
            .limit(limit)
        )
        return [(str(v), int(n), "") for v, n in rows]

    return values


def _metafield_names(
    session: Session, shop_id: int, prefix: str, limit: int
) -> list[tuple[str, int, str]]:
    """`namespace.key` of the shop's customer metafields, with how many customers have each
    and its kind."""
    name = (CustomerMetafield.namespace + "." + CustomerMetafield.key).label("name")
    customers = func.count(func.distinct(CustomerMetafield.customer_id))
    rows = session.execute(
        select(name, customers, func.min(CustomerMetafield.type))
        .where(CustomerMetafield.shop_id == shop_id, _starts(name, prefix))
        .group_by(name)
        .order_by(customers.desc(), name)
        .limit(limit)
    )
    return [(str(n), int(count), kind) for n, count, kind in rows]


def _products(
    session: Session, shop_id: int, prefix: str, limit: int
) -> list[tuple[str, int, str]]:
    """Product ids with their titles: the typed text matches the id or the title."""
    typed = _pattern(prefix)
    rows = session.execute(
        select(Product.platform_id, Product.title)
        .where(
            Product.shop_id == shop_id,
            Product.platform_id.like(typed, escape="\\")
            | func.lower(Product.title).like("%" + typed, escape="\\"),
        )
        .order_by(Product.title, Product.platform_id)
        .limit(limit)
    )
    return [(str(pid), 0, title or "") for pid, title in rows]


def _starts(value: Any, prefix: str) -> ColumnElement[bool]:
    return func.lower(value).like(_pattern(prefix), escape="\\")  # type: ignore[no-any-return]


def _pattern(prefix: str) -> str:
    return like_literal(prefix.lower()) + "%"
