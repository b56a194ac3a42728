"""Metafield conditions and `anniversary()` as non-correlated `customers.id IN (SELECT
customer_id FROM customer_metafields …)` subqueries.

Every comparison asks whether some stored value of that metafield satisfies it (a list
metafield's values are its items), of the kind the literal names: a string is compared
with text values (case-insensitively), a number with numbers, a date with dates (a date
metafield as a local calendar day, a date and time one as an instant), true/false with
booleans. A customer without such a value fails the positive atom; `!=` and NOT CONTAINS
are its negation, so they include them, as everywhere in the language.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Select, and_, false, literal, or_, select

from plugin.profiles.facts_models import CustomerMetafield as M
from plugin.segments import ast
from plugin.segments.compile_values import Cond, holders, negate_if, span_condition
from plugin.segments.context import CompileContext
from plugin.segments.dates import resolve, resolve_day
from plugin.segments.metafield_names import anniversary_path, metafield_path

_OPS: dict[str, Callable[[Any, Any], Cond]] = {
    "=": lambda e, v: e == v,
    "<": lambda e, v: e < v,
    "<=": lambda e, v: e <= v,
    ">": lambda e, v: e > v,
    ">=": lambda e, v: e >= v,
}
YEAR = 366  # a span of a year or more holds every month and day


FieldCondition = ast.Comparison | ast.Between | ast.InList | ast.Contains | ast.IsNull


def compile_metafield(node: FieldCondition, ctx: CompileContext) -> Cond:
    path = metafield_path(node.field)
    assert path is not None
    rows = _rows(path, ctx)
    if isinstance(node, ast.IsNull):
        return negate_if(holders(rows, ctx), not node.negated)
    if isinstance(node, ast.Contains):
        wanted = rows.where(_value(ctx, ("=", node.value)))
        return negate_if(holders(wanted, ctx), node.negated)
    if isinstance(node, ast.Between):
        hit = _value(ctx, (">=", node.low), ("<=", node.high))
        return holders(rows.where(hit), ctx)
    assert isinstance(node, ast.Comparison)
    op = "=" if node.op == "!=" else node.op
    return negate_if(holders(rows.where(_value(ctx, (op, node.value))), ctx), op != node.op)


def _rows(path: tuple[str, str], ctx: CompileContext) -> Select[Any]:
    """The customer ids of the shop's values of one metafield, in the evaluation's scope."""
    namespace, key = path
    stmt = select(M.customer_id).where(
        ctx.shop_column(M.shop_id) == ctx.shop_id, M.namespace == namespace, M.key == key
    )
    return ctx.scoped(stmt, M.customer_id)


def _value(ctx: CompileContext, *checks: tuple[str, ast.Value]) -> Cond:
    """One stored value passing every (op, literal) check; the literals share one kind."""
    first = checks[0][1]
    if isinstance(first, ast.Str):
        return and_(M.type == "text", M.text_cf == literal(first.value.casefold()))
    if isinstance(first, ast.Bool):
        return and_(M.type == "boolean", M.bool_value == literal(first.value))
    if isinstance(first, ast.Num):
        numbers = [_OPS[op](M.number_value, literal(_number(v))) for op, v in checks]
        return and_(M.type == "number", *numbers)
    days = [_OPS[op](M.date_value, literal(_day(v, ctx), Date)) for op, v in checks]
    at = M.__table__.c.at_value
    spans = [span_condition(at, op, resolve(v, ctx.now, ctx.timezone)) for op, v in checks]
    return or_(and_(M.type == "date", *days), and_(M.type == "date_time", *spans))


def _number(value: ast.Value) -> float:
    assert isinstance(value, ast.Num)
    return float(value.value)


def _day(value: ast.Value, ctx: CompileContext) -> date:
    """The local day a date literal names; an instant's own local day (a date metafield is
    a calendar day with no time)."""
    day = resolve_day(value, ctx.now, ctx.timezone)
    if day is not None:
        return day
    return resolve(value, ctx.now, ctx.timezone).start.astimezone(ZoneInfo(ctx.timezone)).date()


def compile_anniversary(node: FieldCondition, ctx: CompileContext) -> Cond:
    """The month and day of a date (or date and time, as written) metafield, any year."""
    path = anniversary_path(node.field)
    assert path is not None
    rows = _rows(path, ctx).where(M.month_day.is_not(None))
    if isinstance(node, ast.IsNull):
        return negate_if(holders(rows, ctx), not node.negated)
    if isinstance(node, ast.Between):
        wanted = month_days(node.low, node.high, ctx)
    else:
        assert isinstance(node, ast.Comparison)
        wanted = month_days(node.value, node.value, ctx)
    hit = holders(rows.where(M.month_day.in_(sorted(wanted))), ctx) if wanted else false()
    return negate_if(hit, isinstance(node, ast.Comparison) and node.op == "!=")


def month_days(low: ast.Value, high: ast.Value, ctx: CompileContext) -> set[int]:
    """Month and day (May 3 → 503) of every day from `low` to `high`.

    Two absolute dates name days of any year, as Shopify says ("the year isn't used"): from
    low's month and day forward to high's, over the new year if need be (Feb 29 included
    when the span passes it). Otherwise the real days in between, none if high is before
    low; a Feb 29 anniversary falls on Feb 28 in a year without one."""
    first = resolve_day(low, ctx.now, ctx.timezone)
    last = resolve_day(high, ctx.now, ctx.timezone)
    assert first is not None and last is not None
    if isinstance(low, ast.AbsDate) and isinstance(high, ast.AbsDate):
        start, end = CALENDAR.index(_md(first)), CALENDAR.index(_md(last))
        return set(
            CALENDAR[start : end + 1] if start <= end else CALENDAR[start:] + CALENDAR[: end + 1]
        )
    if (last - first).days >= YEAR:
        return set(CALENDAR)
    found = set()
    for day in _days(first, last):
        found.add(_md(day))
        if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
            found.add(229)
    return found


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _md(day: date) -> int:
    return day.month * 100 + day.day


# Every month and day of a leap year in order (101 … 229 … 1231): a year-less walk's track.
CALENDAR = [_md(day) for day in _days(date(2000, 1, 1), date(2000, 12, 31))]
