"""The evaluator's one door to the query language: parse (cached by text) and compile.

Parsing is the costly step, so a rule's AST is parsed once per distinct query text and
reused by every sweep, real-time update and preview; the compiled SQL string is then
reused by SQLAlchemy's statement cache, since every date and value is a bound parameter.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement

from plugin.segments.context import CompileContext


def parse(text: str) -> Any:
    """The parsed query (`ParsedQuery`: ast, canonical, notices) or a `QueryError`."""
    from plugin.segments.parser import parse_query

    return parse_query(text)


@lru_cache(maxsize=4096)
def parsed_ast(text: str) -> Any:
    return parse(text).ast


def predicate(ast: Any, ctx: CompileContext, resolve: Any = None) -> ColumnElement[bool]:
    """The rule as a boolean over `customers` (one shop, one clock, optional id scope);
    `resolve(name, ctx)` may give a field's expression (default: the field's own SQL)."""
    from plugin.segments.compiler import compile_predicate

    return compile_predicate(ast, ctx, resolve)
