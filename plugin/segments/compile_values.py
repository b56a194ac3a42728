"""Comparisons of one SQL expression with typed literals: dates as spans, money as minor units."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, literal, not_

from plugin.db import UTCDateTime
from plugin.profiles.models import Customer
from plugin.profiles.money import currency_exponent
from plugin.segments import ast
from plugin.segments.context import CompileContext
from plugin.segments.dates import Span, resolve

Expr = ColumnElement[Any]
Cond = ColumnElement[bool]


def negate_if(condition: Cond, negated: bool) -> Cond:
    return not_(condition) if negated else condition


def holders(rows: Select[Any], ctx: CompileContext) -> Cond:
    """The customers among the ids `rows` selects (never NULL, so NOT is NOT IN). For a few
    customers' ids (real time, an incremental sweep's chunk) a correlated EXISTS, each
    customer's own rows through the index that leads with the customer: as `IN (SELECT
    …)` SQLite built the list from the whole shop through a covering (shop, product type,
    …) index of purchases, at 1M customers seconds per statement."""
    if ctx.customer_ids is None:
        return Customer.id.in_(rows)
    return exists(rows.where(rows.selected_columns[0] == Customer.id))


def present(expr: Expr, condition: Cond) -> Cond:
    """A positive atom: false on a missing value, so SQL NULL never reaches a NOT."""
    return and_(expr.is_not(None), condition)


def scaled(value: ast.Value, type_: str, ctx: CompileContext) -> Decimal:
    """A number literal in the column's unit: money → minor units of the shop currency."""
    assert isinstance(value, ast.Num)
    if type_ == "money":
        return value.value.scaleb(currency_exponent(ctx.currency))
    return value.value


def ordered(expr: Expr, op: str, value: ast.Value, type_: str, ctx: CompileContext) -> Cond:
    """`expr op value` (op one of = < <= > >=) for number, money, integer and date types."""
    if type_ == "date":
        return span_condition(expr, op, resolve(value, ctx.now, ctx.timezone))
    number = scaled(value, type_, ctx)
    if type_ == "number":
        return _OPS[op](expr, literal(float(number)))
    return integer_condition(expr, op, number)


def between(expr: Expr, low: ast.Value, high: ast.Value, type_: str, ctx: CompileContext) -> Cond:
    """Both ends included (for a whole day, all of that day)."""
    return and_(ordered(expr, ">=", low, type_, ctx), ordered(expr, "<=", high, type_, ctx))


def integer_condition(expr: Expr, op: str, number: Decimal) -> Cond:
    """Exact comparison of an integer column with a decimal: `> 999.999` is `> 999`,
    `>= 0.5` is `>= 1`, `= 0.5` is never true."""
    if op == "=":
        whole = number == number.to_integral_value()
        return expr == literal(int(number)) if whole else false()
    bound = math.floor(number) if op in ("<=", ">") else math.ceil(number)
    return _OPS[op](expr, literal(int(bound)))


def span_condition(expr: Expr, op: str, span: Span) -> Cond:
    """Whole days are half-open [start, end): `= D` is the day, `<= D` before its end,
    `> D` from its end. An instant compares exactly."""
    start, end = literal(span.start, UTCDateTime()), literal(span.end, UTCDateTime())
    if op == "=":
        return and_(expr >= start, expr < end) if span.whole_day else expr == start
    if op == "<=" and span.whole_day:
        return expr < end
    if op == ">" and span.whole_day:
        return expr >= end
    return _OPS[op](expr, end if op in ("<=", ">") else start)


_OPS: dict[str, Callable[[Expr, Any], Cond]] = {
    "=": lambda e, v: e == v,
    "<": lambda e, v: e < v,
    "<=": lambda e, v: e <= v,
    ">": lambda e, v: e > v,
    ">=": lambda e, v: e >= v,
}
