"""A shop's purchase histories for the models, read with one set-based query: counted
orders of known customers, grouped by customer and shop-local day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import BigInteger, Float, case, cast, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from plugin.predictions.scoring import Histories
from plugin.profiles.metrics import counted_orders
from plugin.profiles.models import Order
from plugin.profiles.money import currency_exponent
from plugin.shops.models import Shop

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class EpochSeconds(FunctionElement[int]):
    """Whole seconds since 1970 of a stored UTC instant, on both backends."""

    type = BigInteger()
    inherit_cache = True


@compiles(EpochSeconds, "sqlite")
def _epoch_sqlite(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(EpochSeconds, "postgresql")
def _epoch_postgresql(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(floor(extract(epoch from {compiler.process(element.clauses, **kw)})) AS BIGINT)"


def utc_offset_seconds(shop: Shop, now: datetime) -> int:
    """The shop's UTC offset at `now`: days are the shop's local days (a DST change moves
    an order at most an hour across midnight)."""
    offset = now.astimezone(ZoneInfo(shop.timezone or "UTC")).utcoffset()
    return int(offset.total_seconds()) if offset else 0


def day_number(moment: datetime, offset: int) -> int:
    """The shop-local day of `moment` as days since 1970-01-01."""
    return int(((moment - EPOCH).total_seconds() + offset) // 86400)


def day_start(day: float, offset: int) -> datetime:
    """The UTC instant at which (fractional) local day number `day` starts."""
    return EPOCH + timedelta(days=day, seconds=-offset)


def read_histories(
    session: Session, shop: Shop, offset: int, until: int, to: int | None = None
) -> Histories:
    """Every customer whose first purchase day is at or before `until`: the days up to
    `until` summarised, the days in (until, to] counted in `later_days`. One statement: orders →
    (customer, day) → customer, with the first day from a window function."""
    day = ((EpochSeconds(Order.ordered_at) + offset) // 86400).label("day")
    rows = (
        select(Order.customer_id, day, Order.net_total_minor.label("value"))
        .where(*counted_orders(shop.id), Order.customer_id.is_not(None))
        .where(Order.ordered_at.is_not(None))
        .subquery()
    )
    per_day = (
        select(
            rows.c.customer_id,
            rows.c.day,
            func.count().label("orders"),
            func.sum(rows.c.value).label("value"),
        )
        .group_by(rows.c.customer_id, rows.c.day)
        .subquery()
    )
    first = func.min(per_day.c.day).over(partition_by=per_day.c.customer_id)
    ranked = select(per_day, first.label("first")).subquery()
    early = ranked.c.day <= until

    def early_sum(value: Any) -> Any:
        # a float, not PostgreSQL's numeric: Decimals would cost a conversion per value
        return cast(func.sum(case((early, value), else_=0)), Float)

    stmt = (
        select(
            ranked.c.customer_id,
            early_sum(ranked.c.orders),
            early_sum(1),
            func.min(ranked.c.first),
            func.max(case((early, ranked.c.day), else_=None)),
            early_sum(ranked.c.value),
            early_sum(case((ranked.c.day > ranked.c.first, ranked.c.value), else_=0)),
            func.sum(case((early, 0), (ranked.c.day <= (until if to is None else to), 1), else_=0)),
        )
        .where(ranked.c.first <= until)
        .group_by(ranked.c.customer_id)
        .order_by(ranked.c.customer_id)
    )
    fetched = [tuple(row) for row in session.execute(stmt)]  # numpy probes Rows slowly
    return _arrays(fetched, 10.0 ** currency_exponent(shop.currency))


def _arrays(rows: Sequence[Any], scale: float) -> Histories:
    table = np.array(rows, dtype=np.float64).reshape(-1, 8)
    ints = table[:, :5].astype(np.int64)
    return Histories(
        customer_id=ints[:, 0],
        orders=ints[:, 1],
        days=ints[:, 2],
        first=ints[:, 3],
        last=ints[:, 4],
        value=table[:, 5] / scale,
        repeat_value=table[:, 6] / scale,
        later_days=table[:, 7].astype(np.int64),
    )
