"""Incremental sweeps: evaluate only the customers whose memberships can have moved since
the last sweep, instead of every rule for every customer every hour.

Between two sweeps at `since` and `now` a stored membership can only be stale for:
- customers real time evaluated or a job changed meanwhile (`plugin.segments.dirty`);
- customers never evaluated;
- customers for whom one of the rules' time-dependent conditions flips between the two
  clocks. Which conditions depend on the clock is found by compiling each condition at
  both clocks: identical SQL with identical parameters over unchanged rows gives the same
  answer, so only conditions whose compiled form differs are tested, each at both clocks.
Jobs that change inputs without an event mark whom they change (the RFM refresh marks
the customers whose stored scores it moves, and those a moved VIP threshold can move).
What changes everyone's answers (a rule edit, a refreshed Category fans list, a new
prediction fit, a changed timezone, currency or abandonment setting, a history import)
makes the sweep full; a full sweep also forgets the dirty list.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, case, exists, or_, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from plugin.predictions.models import PredictionFit
from plugin.profiles.models import Customer
from plugin.profiles.shop_settings import set_setting
from plugin.segments import ast
from plugin.segments import evaluator_language as language
from plugin.segments.context import CompileContext
from plugin.segments.dirty import mark_dirty_where
from plugin.segments.evaluator_shared import Rule
from plugin.segments.models import SegmentState
from plugin.shops.models import ShopSetting

LAST_SWEEP = "segments_last_sweep"


def sweep_mark(session: Session, shop_id: int, ctx: CompileContext) -> dict[str, Any]:
    """What a sweep's results depend on besides the rows and the rules: the clock, the
    shop's timezone, currency and abandonment setting, and the prediction fit in force."""
    fitted = session.scalar(select(PredictionFit.fitted_at).where(PredictionFit.shop_id == shop_id))
    return {
        "at": ctx.now.isoformat(),
        "timezone": ctx.timezone,
        "currency": ctx.currency,
        "abandoned_after_hours": ctx.abandoned_after_hours,
        "fit": fitted.isoformat() if fitted else None,
    }


def record_sweep(session: Session, shop_id: int, ctx: CompileContext) -> None:
    """Remember a completed sweep's mark (after its last batch)."""
    set_setting(session, shop_id, LAST_SWEEP, sweep_mark(session, shop_id, ctx))


def incremental_since(
    session: Session, shop_id: int, ctx: CompileContext, rules: Sequence[Rule]
) -> datetime | None:
    """The clock of the last sweep when an incremental one at `ctx.now` is exact, else
    None (a full sweep is needed): every rule settled by that sweep, the same setting and
    prediction fit since, and the clock not moved back."""
    if not rules or any(rule.pending_reason is not None for rule in rules):
        return None
    row = session.get(ShopSetting, (shop_id, LAST_SWEEP))
    stored = row.value.get("value") if row is not None and isinstance(row.value, dict) else None
    if not isinstance(stored, dict) or "at" not in stored:
        return None
    current = sweep_mark(session, shop_id, ctx)
    if {k: v for k, v in stored.items() if k != "at"} != {
        k: v for k, v in current.items() if k != "at"
    }:
        return None
    since = datetime.fromisoformat(stored["at"])
    return since if since <= ctx.now else None


def conditions(node: ast.Node) -> Iterator[ast.Condition]:
    """The leaves of a rule: every condition the And/Or tree combines."""
    if isinstance(node, ast.And | ast.Or):
        for item in node.items:
            yield from conditions(item)
    else:
        yield node


def _compiled(expr: ColumnElement[Any], dialect: Dialect) -> tuple[str, str]:
    compiled = expr.compile(dialect=dialect)
    return compiled.string, repr(sorted(compiled.params.items(), key=lambda kv: kv[0]))


def clock_conditions(
    rules: Sequence[Rule], before: CompileContext, after: CompileContext, dialect: Dialect
) -> list[tuple[ColumnElement[bool], ColumnElement[bool]]]:
    """(condition at `before`, condition at `after`) for every distinct condition of the
    rules whose SQL differs between the two clocks."""
    found: dict[ast.Condition, tuple[ColumnElement[bool], ColumnElement[bool]]] = {}
    for rule in rules:
        for condition in conditions(language.parsed_ast(rule.query)):
            if condition in found:
                continue
            if _moves(condition, before, after, dialect):
                then = language.predicate(condition, before)
                now = language.predicate(condition, after)
                found[condition] = (_own_parameters(then, "_then"), now)
    return list(found.values())


_MOVES: dict[tuple[Any, ...], bool] = {}
MOVES_CACHE = 4096


def _moves(
    condition: ast.Condition, before: CompileContext, after: CompileContext, dialect: Dialect
) -> bool:
    """Whether the condition's SQL differs between the two clocks; asked again by every
    batch of a sweep, so remembered per sweep clocks (the batch's id range set aside)."""
    key = (dialect.name, condition, replace(before, id_range=None))
    key += (replace(after, id_range=None),)
    found = _MOVES.get(key)
    if found is None:
        then = language.predicate(condition, before)
        now = language.predicate(condition, after)
        found = _compiled(then, dialect) != _compiled(now, dialect)
        if len(_MOVES) >= MOVES_CACHE:
            _MOVES.clear()
        _MOVES[key] = found
    return found


def _own_parameters(expr: ColumnElement[bool], suffix: str) -> ColumnElement[bool]:
    """`expr` with its named parameters renamed: fields bind the clock under fixed names
    (`lifecycle_now_us`, …), and two values under one name in one statement would be one
    parameter, so both clocks would read the same instant."""

    def rename(element: Any) -> Any:
        if isinstance(element, BindParameter) and not element.unique:
            return bindparam(
                f"{element.key}{suffix}",
                element.value,
                type_=element.type,
                expanding=element.expanding,
                callable_=element.callable,
            )
        return None

    renamed: ColumnElement[bool] = visitors.replacement_traverse(expr, {}, rename)
    return renamed


def _truth(condition: ColumnElement[bool]) -> ColumnElement[int]:
    # NULL counts as false, as in the mask's CASE: a condition that goes from NULL to
    # false (or back) cannot change a rule's outcome under the mask's reading.
    return case((condition, 1), else_=0)


def stale_condition(
    shop_id: int,
    rules: Sequence[Rule],
    ctx: CompileContext,
    since: datetime,
    dialect: Dialect,
) -> ColumnElement[bool]:
    """Customers whose stored memberships may not hold at `ctx.now` although nobody marked
    them: never evaluated, time metrics refreshed or expired since `since`, or a
    clock-dependent condition flipped since `since`."""
    never = ~exists(
        select(SegmentState.customer_id).where(
            SegmentState.shop_id == shop_id,
            SegmentState.customer_id == Customer.id,
            SegmentState.word == 0,
        )
    )
    # A customer whose stored time metrics held at `since` and still hold now has the
    # same time-window and abandonment values at both clocks: for everyone else the
    # clock test reads the stored columns (no subquery per customer and clock), and the
    # few whose metrics were refreshed or expired in between are taken as stale.
    now = ctx.now
    refreshed = or_(Customer.metrics_updated_at > since, Customer.time_metrics_due_at <= now)
    stored = replace(ctx, stored_time_metrics=True)
    pairs = clock_conditions(rules, replace(stored, now=since), stored, dialect)
    return or_(never, refreshed, *(_truth(then) != _truth(at) for then, at in pairs))


def mark_stale(
    session: Session,
    shop_id: int,
    rules: Sequence[Rule],
    ctx: CompileContext,
    since: datetime,
    *where: ColumnElement[bool],
) -> None:
    """Add the batch's stale customers (`stale_condition`) to the dirty list, which the
    batch then evaluates and clears in the same transaction."""
    dialect = session.get_bind().dialect
    stale = stale_condition(shop_id, rules, ctx, since, dialect)
    mark_dirty_where(session, shop_id, *where, stale, by_id=True)
