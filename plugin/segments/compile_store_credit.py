"""`store_credit_accounts MATCHES (…)`: customers with a store credit account satisfying every
parameter, as one non-correlated `customers.id IN (SELECT …)`.

An account's next expiry (the soonest `expires_at` still ahead of the evaluation's clock
among its credits with something left) and its last credit (the latest `credited_at`) are
computed from the stored credits by one grouped subquery, so they move with the clock
without any write. The balance is compared in the account's own currency: `balance > 100`
is 100.00 on a USD account and 100 on a JPY one, exactly, in minor units.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select

from plugin.db import UTCDateTime
from plugin.profiles.facts_models import StoreCredit, StoreCreditAccount
from plugin.segments import ast
from plugin.segments.compile_values import (
    Cond,
    between,
    holders,
    integer_condition,
    negate_if,
    ordered,
    present,
)
from plugin.segments.context import CompileContext

A = StoreCreditAccount
BALANCE = StoreCreditAccount.__table__.c.balance_minor
EXPONENTS = range(5)  # ISO 4217 minor-unit exponents in use: 0, 2, 3 and 4


def compile_store_credit(node: ast.Matches, ctx: CompileContext) -> Cond:
    dates = _account_dates(ctx)
    rows = (
        select(A.customer_id)
        .select_from(
            A.__table__.outerjoin(
                dates,
                and_(dates.c.customer_id == A.customer_id, dates.c.account_id == A.account_id),
            )
        )
        .where(ctx.shop_column(A.shop_id) == ctx.shop_id)
    )
    rows = ctx.scoped(rows, A.customer_id)
    columns = {"next_expiry_date": dates.c.next_expiry, "last_credit_date": dates.c.last_credit}
    for param in node.params:
        rows = rows.where(_condition(param, columns, ctx))
    return negate_if(holders(rows, ctx), node.negated)


def _account_dates(ctx: CompileContext) -> Any:
    now = literal(ctx.now, UTCDateTime())
    live = and_(StoreCredit.remaining_minor > 0, StoreCredit.expires_at > now)
    stmt = (
        select(
            StoreCredit.customer_id,
            StoreCredit.account_id,
            func.min(case((live, StoreCredit.expires_at), else_=None)).label("next_expiry"),
            func.max(StoreCredit.credited_at).label("last_credit"),
        )
        .where(ctx.shop_column(StoreCredit.shop_id) == ctx.shop_id)
        .group_by(StoreCredit.customer_id, StoreCredit.account_id)
    )
    return ctx.scoped(stmt, StoreCredit.customer_id).subquery()


def _condition(param: ast.Param, dates: dict[str, Any], ctx: CompileContext) -> Cond:
    if param.field == "balance":
        return _balance(param)
    if isinstance(param, ast.Between):
        expr = dates[param.field]
        return present(expr, between(expr, param.low, param.high, "date", ctx))
    if isinstance(param, ast.InList):
        values, negated = param.values, param.negated
    else:
        values, negated = (param.value,), param.op == "!="
    if param.field == "currency":
        codes = [v.value.upper() for v in values if isinstance(v, ast.Str)]
        return negate_if(A.currency.in_(codes), negated)
    assert isinstance(param, ast.Comparison)
    expr, op = dates[param.field], "=" if negated else param.op
    return negate_if(present(expr, ordered(expr, op, param.value, "date", ctx)), negated)


def _balance(param: ast.Param) -> Cond:
    """The literal scaled by each account's own exponent (exact: `> 99.999` on a USD
    account is `> 9999` minor units)."""

    def holds(exponent: int) -> Cond:
        if isinstance(param, ast.Between):
            low, high = (_minor(v, exponent) for v in (param.low, param.high))
            return and_(
                integer_condition(BALANCE, ">=", low),
                integer_condition(BALANCE, "<=", high),
            )
        assert isinstance(param, ast.Comparison)
        op = "=" if param.op == "!=" else param.op
        hit = integer_condition(BALANCE, op, _minor(param.value, exponent))
        return negate_if(hit, op != param.op)

    return or_(*(and_(A.exponent == e, holds(e)) for e in EXPONENTS))


def _minor(value: ast.Value, exponent: int) -> Any:
    assert isinstance(value, ast.Num)
    return value.value.scaleb(exponent)
