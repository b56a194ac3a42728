"""The mask SELECT, with heavy virtual fields computed once per customer row.

Each `rfm_segment = '…'` rule would otherwise inline the whole RFM CASE (scores against the
shop's cut-off row) again: eleven RFM segments made one statement of some 900 parameters,
which PostgreSQL took ~40 ms to plan and ~6 ms to start. Fields read by the rules that are
virtual (CASE expressions over stored columns) are computed in one derived table joined on
the customer id; `OFFSET 0` keeps both planners from flattening it back into each use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, case, literal, select, true

from plugin.db import Unindexed
from plugin.profiles.models import Customer
from plugin.segments import evaluator_language as language
from plugin.segments.context import CompileContext
from plugin.segments.models import word_flag, word_of


@dataclass(frozen=True)
class Rule:
    """An enabled segment as the evaluator needs it."""

    segment_id: int
    bit: int
    rule_version: int
    pending_reason: str | None
    query: str

    @property
    def flag(self) -> int:
        """The rule's bit in a combined mask (Python side, any width)."""
        return 1 << self.bit


def mask_words(rules: Sequence[Rule]) -> list[int]:
    """The state words these rules write; word 0 always (its row marks an evaluation)."""
    return sorted({0} | {word_of(rule.bit) for rule in rules})


# Virtual fields worth computing once per row (CASE expressions with subqueries).
HOISTED = frozenset(
    {
        "rfm_segment",
        "rfm_r",
        "rfm_f",
        "rfm_m",
        "vip",
        "lifecycle_stage",
        "order_gap_ratio",
        "days_since_last_order",
        # time-window fields: a CASE over the stale test with a correlated subquery each
        "open_abandoned_checkout_at",
        "abandoned_checkout_date",
        "spent_365d",
        "orders_365d",
    }
)


def used_fields(node: Any) -> set[str]:
    """Names of scalar fields anywhere in an AST (any node with a `field` string)."""
    found: set[str] = set()
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        name = getattr(node, "field", None)
        if isinstance(name, str):
            found.add(name)
        for item in dataclasses.fields(node):
            found |= used_fields(getattr(node, item.name))
    elif isinstance(node, list | tuple):
        for item in node:
            found |= used_fields(item)
    return found


def masks_select(
    rules: Sequence[Rule],
    ctx: CompileContext,
    *where: ColumnElement[bool],
    lateral: bool = False,
) -> Select[Any]:
    """(cid, mask0, mask1, …) for the shop's customers matching `where`: one column per
    word of `mask_words(rules)`. With `lateral` (PostgreSQL)
    the virtual fields are a LATERAL subquery of each row, so no estimate can turn the
    join into a rescan; otherwise a derived table joined on the id (SQLite)."""
    from plugin.segments.fields import field_expression

    asts = [language.parsed_ast(rule.query) for rule in rules]
    hoisted = sorted(set().union(*(used_fields(a) for a in asts)) & HOISTED) if asts else []
    # With customers' ids or a sweep batch's id range in scope the ids are the way in:
    # SQLite would otherwise read the whole shop through a covering index on `shop_id`.
    by_id = ctx.customer_ids is not None or ctx.id_range is not None
    shop = Unindexed(Customer.shop_id) if by_id else Customer.shop_id
    scope = (shop == ctx.shop_id, *where)
    columns = [field_expression(n, ctx).label(n) for n in hoisted]
    if lateral:
        per_row = select(*columns).correlate(Customer).offset(0)
        virtual: Any = per_row.lateral("virtual_fields")
        on: ColumnElement[bool] = true()
    else:
        virtual = (
            select(Customer.id.label("vid"), *columns)
            .where(*scope)
            .offset(0)
            .subquery("virtual_fields")
        )
        on = virtual.c.vid == Customer.id

    def resolve(name: str, rctx: CompileContext) -> ColumnElement[Any]:
        return virtual.c[name] if name in hoisted else field_expression(name, rctx)

    masks: dict[int, ColumnElement[int]] = {word: literal(0) for word in mask_words(rules)}
    started: set[int] = set()
    for tree, rule in zip(asts, rules, strict=True):
        word = word_of(rule.bit)
        term = case((language.predicate(tree, ctx, resolve), word_flag(rule.bit)), else_=0)
        masks[word] = masks[word] + term if word in started else term
        started.add(word)
    columns = [mask.label(f"mask{word}") for word, mask in masks.items()]
    stmt = select(Customer.id.label("cid"), *columns).where(*scope)
    return stmt.join(virtual, on) if hoisted else stmt
