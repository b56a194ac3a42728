"""AST → one boolean SQLAlchemy expression over `customers`, for one shop and one clock.

Use as `select(Customer.id).where(Customer.shop_id == ctx.shop_id, predicate)`. Positive
atoms are false on a missing value; `!=`, NOT IN, NOT CONTAINS and NOT MATCHES are exactly
NOT of the positive atom. Every literal is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, or_

from plugin.segments import ast
from plugin.segments.catalogue import FIELDS, FieldSpec
from plugin.segments.compile_functions import compile_list_field, compile_matches
from plugin.segments.compile_metafields import compile_anniversary, compile_metafield
from plugin.segments.compile_values import Cond, Expr, between, negate_if, ordered, present
from plugin.segments.context import CompileContext
from plugin.segments.metafield_names import anniversary_path, is_metafield

FieldResolver = Callable[[str, CompileContext], ColumnElement[Any]]
FieldBound = Callable[[str, list[Any], CompileContext], ColumnElement[bool] | None]


def compile_predicate(
    node: ast.Node, ctx: CompileContext, resolve: FieldResolver | None = None
) -> ColumnElement[bool]:
    """The query as SQL. `resolve(name, ctx)` gives a scalar field's expression; by default
    `plugin.segments.fields.field_expression`."""
    from plugin.segments.fields import field_bound, field_expression

    return _Compiler(ctx, resolve or field_expression, field_bound).node(node)


class _Compiler:
    def __init__(self, ctx: CompileContext, resolve: FieldResolver, bound: FieldBound) -> None:
        self.ctx = ctx
        self.resolve = resolve
        self.bound = bound

    def node(self, node: ast.Node) -> Cond:
        if isinstance(node, ast.And):
            return and_(*(self.node(item) for item in node.items))
        if isinstance(node, ast.Or):
            return or_(*(self.node(item) for item in node.items))
        if isinstance(node, ast.Matches):
            return compile_matches(node, self.ctx)
        if is_metafield(node.field):
            return compile_metafield(node, self.ctx)
        if anniversary_path(node.field) is not None:
            return compile_anniversary(node, self.ctx)
        spec = FIELDS[node.field]
        if spec.type in ("string_list", "id_list"):
            assert isinstance(node, ast.Contains | ast.IsNull)
            return compile_list_field(node, self.ctx)
        return self.scalar(node, spec, self.resolve(spec.name, self.ctx))

    def scalar(self, node: ast.Condition, spec: FieldSpec, expr: Expr) -> Cond:
        if isinstance(node, ast.IsNull):
            return expr.is_not(None) if node.negated else expr.is_(None)
        if isinstance(node, ast.Comparison):
            op = "=" if node.op == "!=" else node.op
            found = present(expr, self.compare(expr, op, node.value, spec))
            if node.op == "=" and spec.type == "enum":
                return self.bounded(found, spec, [self.literal_value(node.value, spec)])
            return negate_if(found, op != node.op)
        if isinstance(node, ast.Between):
            return present(expr, between(expr, node.low, node.high, spec.type, self.ctx))
        if isinstance(node, ast.InList):
            values = [self.literal_value(v, spec) for v in node.values]
            found = present(expr, expr.in_(values))
            return negate_if(found, True) if node.negated else self.bounded(found, spec, values)
        raise TypeError(f"{spec.name} cannot be used with {type(node).__name__}")

    def bounded(self, found: Cond, spec: FieldSpec, values: list[Any]) -> Cond:
        """`found`, led by what its values imply over indexed columns, if anything (only
        for a positive test: the negation of a bound implies nothing)."""
        bound = self.bound(spec.name, values, self.ctx)
        return found if bound is None else and_(bound, found)

    def compare(self, expr: Expr, op: str, value: ast.Value, spec: FieldSpec) -> Cond:
        if spec.type in ("integer", "number", "money", "date"):
            return ordered(expr, op, value, spec.type, self.ctx)
        return expr == literal(self.literal_value(value, spec))

    @staticmethod
    def literal_value(value: ast.Value, spec: FieldSpec) -> Any:
        """Enums are stored lower-case; case-insensitive strings are casefolded copies."""
        if isinstance(value, ast.Bool):
            return value.value
        if isinstance(value, ast.Num):
            return int(value.value)
        assert isinstance(value, ast.Str)
        if spec.type == "enum":
            return value.value.lower()
        return value.value.casefold() if spec.casefold else value.value
