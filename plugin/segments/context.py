"""What one evaluation compiles against: the shop, one frozen clock and an optional scope.

Shared by the compiler (`plugin.segments.compiler`), the field expressions
(`plugin.segments.fields`) and the evaluator, so a sweep, a real-time update and a
preview resolve every date and threshold identically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select

from plugin.db import Unindexed


@dataclass(frozen=True)
class CompileContext:
    shop_id: int
    # The one clock of this evaluation (aware UTC); every relative date resolves against it.
    now: datetime
    # The shop's IANA timezone: whole days and absolute dates are the shop's local days.
    timezone: str = "UTC"
    # None for a sweep over the whole shop; customer ids (surrogate keys) for real time,
    # pushed into every subquery so it touches only these customers' rows.
    customer_ids: Sequence[int] | None = None
    # A sweep batch's customer ids as the half-open range (lo, hi] (hi None: no upper end),
    # pushed into every subquery like `customer_ids`: without it each batch would read the
    # whole shop's purchases, orders and tags again, making a sweep quadratic in its size.
    id_range: tuple[int, int | None] | None = None
    # The shop currency: money literals are amounts in it (`500` is 500.00 USD, 500 JPY),
    # compared with integer minor units via its ISO 4217 exponent.
    currency: str = "USD"
    # The shop setting that makes a checkout abandoned (abandoned_checkouts MATCHES).
    abandoned_after_hours: float = 10.0
    # Read the stored time-window and abandonment metrics as they are, without the test
    # of whether they still hold at `now`: only for customers known to hold them (the
    # incremental sweep's clock test, `plugin.segments.evaluator_incremental`).
    stored_time_metrics: bool = False

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("CompileContext.now must be timezone-aware")

    def shop_column(self, column: Any) -> Any:
        """The shop filter's column for a table with an index that leads with the customer:
        for a few customers' ids out of the planner's race (SQLite, no statistics, would
        rather read the shop's rows of a country, a tag or a metafield through a (shop, …)
        index than look up each customer's own)."""
        return column if self.customer_ids is None else Unindexed(column)

    def scoped(self, stmt: Select[Any], column: Any) -> Select[Any]:
        """`stmt` reading only the rows of the customers in scope (`column` holds their
        surrogate id): the real-time ids, or a sweep batch's id range."""
        if self.customer_ids is not None:
            stmt = stmt.where(column.in_(list(self.customer_ids)))
        if self.id_range is not None:
            lo, hi = self.id_range
            stmt = stmt.where(column > lo) if hi is None else stmt.where(column > lo, column <= hi)
        return stmt
