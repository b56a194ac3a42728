"""Set-valued filters: tags, places (countries, regions, cities of every address) and B2B
companies, and the MATCHES functions as non-correlated `customers.id IN (SELECT
customer_id … GROUP BY customer_id HAVING …)` subqueries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Select, String, and_, func, literal, or_, select

from plugin.db import Unindexed, like_literal
from plugin.profiles.addresses import city_keys
from plugin.profiles.facts_models import CustomerCompany
from plugin.profiles.metrics import abandoned_checkouts, checkout_activity
from plugin.profiles.models import (
    Checkout,
    Customer,
    CustomerAddress,
    CustomerTag,
    Order,
    Product,
    ProductTag,
    Purchase,
)
from plugin.segments import ast
from plugin.segments.catalogue import FUNCTIONS
from plugin.segments.compile_store_credit import compile_store_credit
from plugin.segments.compile_values import (
    Cond,
    Expr,
    between,
    holders,
    integer_condition,
    negate_if,
    ordered,
    present,
    scaled,
)
from plugin.segments.context import CompileContext


def compile_list_field(node: ast.Contains | ast.IsNull, ctx: CompileContext) -> Cond:
    """customer_tags (the customer_tags table), the place lists (customer_addresses) and
    companies (customer_companies)."""
    if node.field in PLACE_KEYS:
        return _places(node, ctx)
    if node.field == "companies":
        return _companies(node, ctx)
    if node.field == "customer_tags":
        # For a few customers' ids, their own tags through the (customer, tag) key, not
        # every customer's with this tag through the (shop, tag) index SQLite prefers.
        tags = select(CustomerTag.customer_id).where(
            ctx.shop_column(CustomerTag.shop_id) == ctx.shop_id, CustomerTag.present.is_(True)
        )
        tags = ctx.scoped(tags, CustomerTag.customer_id)
        if isinstance(node, ast.Contains):
            assert isinstance(node.value, ast.Str)
            tags = tags.where(CustomerTag.tag_cf == literal(node.value.value.casefold()))
            return negate_if(holders(tags, ctx), node.negated)
        assert isinstance(node, ast.IsNull)
        return negate_if(holders(tags, ctx), not node.negated)
    raise KeyError(node.field)


def _companies(node: ast.Contains | ast.IsNull, ctx: CompileContext) -> Cond:
    rows = select(CustomerCompany.customer_id).where(
        ctx.shop_column(CustomerCompany.shop_id) == ctx.shop_id
    )
    rows = ctx.scoped(rows, CustomerCompany.customer_id)
    if isinstance(node, ast.IsNull):
        return negate_if(holders(rows, ctx), not node.negated)
    assert isinstance(node.value, ast.Num)
    wanted = rows.where(CustomerCompany.company_id == literal(str(int(node.value.value))))
    return negate_if(holders(wanted, ctx), node.negated)


# The customer_addresses column each place list compares, and the stored keys a literal
# names: codes upper-case (ASCII), city keys folded as plugin.profiles.addresses stores them.
PLACE_KEYS: dict[str, tuple[Any, Any]] = {
    "customer_countries": (CustomerAddress.country_code, lambda v: [v.upper()]),
    "customer_regions": (CustomerAddress.region_key, lambda v: [v.upper()]),
    "customer_cities": (CustomerAddress.city_key, city_keys),
}


def _places(node: ast.Contains | ast.IsNull, ctx: CompileContext) -> Cond:
    """Any of the customer's addresses. Countries and regions also read the default address
    on the profile row (rows written before customer_addresses, or by hand)."""
    column, keys = PLACE_KEYS[node.field]
    rows = select(CustomerAddress.customer_id).where(
        ctx.shop_column(CustomerAddress.shop_id) == ctx.shop_id, column.is_not(None)
    )
    rows = ctx.scoped(rows, CustomerAddress.customer_id)
    own = _own_place(node.field)
    if isinstance(node, ast.Contains):
        assert isinstance(node.value, ast.Str)
        wanted = keys(node.value.value)
        hit: Cond = holders(rows.where(column.in_(wanted)), ctx)
        if own is not None:
            hit = or_(and_(own.is_not(None), own.in_(wanted)), hit)
        return negate_if(hit, node.negated)
    assert isinstance(node, ast.IsNull)
    known: Cond = holders(rows, ctx)
    if own is not None:
        known = or_(own.is_not(None), known)
    return negate_if(known, not node.negated)


def _own_place(field: str) -> Expr | None:
    """The default address's country (`PL`) or region (`US-CA`) on the profile row, NULL
    when unknown; codes are ASCII, so upper() is the same on every database."""
    country = func.upper(func.nullif(Customer.country_code, ""), type_=String)
    if field == "customer_countries":
        return country
    if field == "customer_regions":
        province = func.upper(func.nullif(Customer.province_code, ""), type_=String)
        return country.concat("-").concat(province)  # NULL when either part is
    return None


def compile_matches(node: ast.Matches, ctx: CompileContext) -> Cond:
    """NOT MATCHES is NOT IN over the same subquery (its customer ids are never NULL)."""
    if node.function == "store_credit_accounts":
        return compile_store_credit(node, ctx)
    aggregates = {p.name for p in FUNCTIONS[node.function].params if p.aggregate}
    rows = _SOURCES[node.function](ctx)
    for param in node.params:
        if param.field not in aggregates:
            rows = rows.where(_row_condition(node.function, param, ctx))
    having = [
        _aggregate_condition(node.function, p, ctx) for p in node.params if p.field in aggregates
    ]
    if having:
        rows = rows.group_by(rows.selected_columns[0]).having(and_(*having))
    return negate_if(holders(rows, ctx), node.negated)


def _purchases(ctx: CompileContext) -> Select[Any]:
    stmt = select(Purchase.customer_id).where(Purchase.shop_id == ctx.shop_id)
    return ctx.scoped(stmt, Purchase.customer_id)


def _orders(ctx: CompileContext) -> Select[Any]:
    """Counted orders of known customers: not test, not cancelled."""
    stmt = select(Order.customer_id).where(
        Order.shop_id == ctx.shop_id,
        Order.customer_id.is_not(None),
        Order.test.is_(False),
        Order.cancelled_at.is_(None),
    )
    return ctx.scoped(stmt, Order.customer_id)


def _checkouts(ctx: CompileContext) -> Select[Any]:
    cutoff = ctx.now - timedelta(hours=ctx.abandoned_after_hours)
    stmt = select(Checkout.customer_id).where(
        *abandoned_checkouts(ctx.shop_id, cutoff), Checkout.customer_id.is_not(None)
    )
    return ctx.scoped(stmt, Checkout.customer_id)


_SOURCES = {
    "products_purchased": _purchases,
    "orders_placed": _orders,
    "abandoned_checkouts": _checkouts,
}


def _row_expr(function: str, param: str, ctx: CompileContext) -> tuple[Any, str]:
    """The per-row column a parameter compares, with the type that comparison uses."""
    columns: dict[tuple[str, str], tuple[Any, str]] = {
        ("products_purchased", "id"): (Purchase.product_platform_id, "id"),
        ("products_purchased", "product_type"): (Purchase.product_type_cf, "string"),
        ("products_purchased", "vendor"): (Purchase.vendor_cf, "string"),
        ("products_purchased", "tag"): (Purchase.product_platform_id, "tag"),
        ("products_purchased", "category"): (Purchase.product_platform_id, "category"),
        ("products_purchased", "date"): (Purchase.ordered_at, "date"),
        ("orders_placed", "date"): (Order.ordered_at, "date"),
        ("orders_placed", "amount"): (Order.net_total_minor, "money"),
        ("orders_placed", "location_id"): (Order.location_id, "id"),
        ("orders_placed", "app_id"): (Order.app_id, "id"),
        ("abandoned_checkouts", "date"): (checkout_activity(), "date"),
    }
    return columns[(function, param)]


# In the real-time scope SQLite (no ANALYZE statistics) would otherwise read every purchase
# of a product type through the type index to find one customer's few rows; the customer
# index is always the right one there.
_TYPE_INDEXED = {Purchase.product_type_cf.key}


def _row_condition(function: str, param: ast.Param, ctx: CompileContext) -> Cond:
    expr, type_ = _row_expr(function, param.field, ctx)
    if ctx.customer_ids is not None and getattr(expr, "key", None) in _TYPE_INDEXED:
        expr = Unindexed(expr)
    if isinstance(param, ast.Between):
        return present(expr, between(expr, param.low, param.high, type_, ctx))
    values = param.values if isinstance(param, ast.InList) else (param.value,)
    negated = param.negated if isinstance(param, ast.InList) else param.op == "!="
    if type_ in ("date", "money"):
        op = "=" if negated else param.op  # type: ignore[union-attr]
        return negate_if(present(expr, ordered(expr, op, values[0], type_, ctx)), negated)
    if type_ == "tag":
        return negate_if(present(expr, expr.in_(_tagged_products(values, ctx))), negated)
    if type_ == "category":
        return negate_if(present(expr, expr.in_(_categorised_products(values, ctx))), negated)
    keys = [_row_key(v, type_) for v in values]
    return negate_if(present(expr, expr.in_(keys)), negated)


def _row_key(value: ast.Value, type_: str) -> str:
    if isinstance(value, ast.Num):
        return str(int(value.value))
    assert isinstance(value, ast.Str)
    return value.value.casefold() if type_ == "string" else value.value


def _tagged_products(values: tuple[ast.Value, ...], ctx: CompileContext) -> Select[Any]:
    tags = [_row_key(v, "string") for v in values]
    return (
        select(Product.platform_id)
        .join(ProductTag, ProductTag.product_id == Product.id)
        .where(Product.shop_id == ctx.shop_id, ProductTag.tag_cf.in_(tags))
    )


def category_key(value: ast.Value) -> str:
    """`'gid://shopify/TaxonomyCategory/aa-1'` or `'aa-1'` → `aa-1`: the stored form (the
    platform's own id, lower case)."""
    assert isinstance(value, ast.Str)
    return value.value.strip().rsplit("/", 1)[-1].lower()


def _categorised_products(values: tuple[ast.Value, ...], ctx: CompileContext) -> Select[Any]:
    """Products in any of the categories or below one: a child's id extends its parent's
    (`aa-1-13` is under `aa-1`, `aa-10` is not)."""
    column = Product.category_id
    hits = []
    for key in dict.fromkeys(category_key(v) for v in values):
        below = like_literal(key) + "-%"
        hits.append(or_(column == key, column.like(below, escape="\\")))
    return select(Product.platform_id).where(Product.shop_id == ctx.shop_id, or_(*hits))


def _aggregate_condition(function: str, param: ast.Param, ctx: CompileContext) -> Cond:
    expr, type_ = _aggregate_expr(function, param.field)
    if isinstance(param, ast.Between):
        low = integer_condition(expr, ">=", scaled(param.low, type_, ctx))
        return and_(low, integer_condition(expr, "<=", scaled(param.high, type_, ctx)))
    if isinstance(param, ast.InList):
        hits = or_(*(integer_condition(expr, "=", scaled(v, type_, ctx)) for v in param.values))
        return negate_if(hits, param.negated)
    op = "=" if param.op == "!=" else param.op
    return negate_if(integer_condition(expr, op, scaled(param.value, type_, ctx)), op != param.op)


def _aggregate_expr(function: str, param: str) -> tuple[Expr, str]:
    if function == "products_purchased":
        if param == "count":
            return func.count(func.distinct(Purchase.order_id)), "integer"
        return func.coalesce(func.sum(Purchase.quantity), 0), "integer"
    if function == "orders_placed":
        if param == "count":
            return func.count(Order.id), "integer"
        return func.coalesce(func.sum(Order.net_total_minor), 0), "money"
    return func.count(Checkout.id), "integer"
