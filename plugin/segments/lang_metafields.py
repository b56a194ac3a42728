"""Building the metafield conditions (`metafields.<namespace>.<key> op value`) and
`anniversary('metafields.<namespace>.<key>') op date` from the parse tree.

A metafield has no type the parser knows (each shop defines its own): the literal says
what is compared — a string text, a number numbers, a date dates, true/false booleans —
and the operators are those Shopify offers for that kind.
"""

from __future__ import annotations

from typing import Any

from lark import Token, Tree

from plugin.segments import ast
from plugin.segments.lang_values import coerce, fail, unescape
from plugin.segments.metafield_names import anniversary_field, canonical, metafield_path

RawValue = tuple[str, Token]
DATE_KINDS = ("date", "datetime", "reldate", "named_date")
ORDERED = ("=", "!=", "<", "<=", ">", ">=")
# literal kind → (its type, the operators Shopify offers for metafields of that kind)
KIND_OPS = {
    "string": ("string", ("=", "!=", "CONTAINS")),
    "number": ("number", (*ORDERED, "BETWEEN", "CONTAINS")),
    "date": ("date", (*ORDERED, "BETWEEN")),
    "boolean": ("boolean", ("=", "!=")),
}
ANNIVERSARY_OPS = ("=", "!=", "BETWEEN", "IS NULL")
ANNIVERSARY_EXAMPLE = "anniversary('metafields.facts.birth_date') BETWEEN today AND +30d"


def metafield_name(name: Token) -> str:
    if metafield_path(str(name)) is None:
        raise fail(f"'{name}' is not a metafield: write metafields.<namespace>.<key>", name)
    return canonical(str(name))


def literal_kind(raw: RawValue) -> str | None:
    kind, token = raw
    word = str(token).lower()
    if kind in DATE_KINDS or (kind == "word" and word in ("today", "yesterday")):
        return "date"
    if kind == "word" and word in ("true", "false"):
        return "boolean"
    return kind if kind in ("string", "number") else None


def metafield_value(name: Token, op: str, raw: RawValue, notices: list[str]) -> ast.Value:
    """The literal typed by its own kind, if Shopify offers `op` for metafields of it."""
    kind = literal_kind(raw)
    if kind is None:
        raise fail(f"{name} compares with a string, a number, a date, true or false", raw[1])
    type_, ops = KIND_OPS[kind]
    if ("=" if op == "!=" else op) not in ops:
        allowed = ", ".join(ops)
        raise fail(f"a {type_} metafield does not take {op}; it takes {allowed}", raw[1])
    return coerce(raw[0], raw[1], type_, str(name), (), notices)


def metafield_between(
    name: Token, low: RawValue, high: RawValue, notices: list[str]
) -> ast.Between:
    kinds = {literal_kind(low), literal_kind(high)}
    if kinds not in ({"number"}, {"date"}):
        raise fail(f"{name} BETWEEN takes two numbers or two dates", low[1])
    values = [metafield_value(name, "BETWEEN", raw, notices) for raw in (low, high)]
    return ast.Between(metafield_name(name), values[0], values[1])


class CallRules:
    """Transformer rules of `name(…)` conditions: anniversary(), and the deprecated
    `function(param: value) = true` (Builder.old_call)."""

    notices: list[str]

    def old_call(self, name: Token, args: list[Any], op: Token, raw: RawValue) -> ast.Matches:
        raise NotImplementedError

    def call(self, items: list[Any]) -> tuple[Token, list[Any]]:
        return items[0], [arg for arg in items[1:] if arg is not None]

    def call_comparison(self, items: list[Any]) -> ast.Condition:
        (name, args), op, raw = items
        if str(name).lower() != "anniversary":
            return self.old_call(name, args, op, raw)
        field = anniversary_of(name, args, str(op))
        return ast.Comparison(field, str(op), self.day(raw))

    def call_between(self, items: list[Any]) -> ast.Between:
        (name, args), _, low, _, high = items
        field = anniversary_of(name, args, "BETWEEN")
        return ast.Between(field, self.day(low), self.day(high))

    def call_is_null(self, items: list[Any], negated: bool = False) -> ast.IsNull:
        name, args = items[0]
        return ast.IsNull(anniversary_of(name, args, "IS NULL"), negated)

    def call_is_not_null(self, items: list[Any]) -> ast.IsNull:
        return self.call_is_null(items, negated=True)

    def day(self, raw: RawValue) -> ast.Value:
        """A whole day: anniversary compares month and day, so an instant means nothing."""
        value = coerce(raw[0], raw[1], "date", "anniversary", (), self.notices)
        if isinstance(value, ast.AbsDateTime) or (
            isinstance(value, ast.RelDate) and value.unit == "h"
        ):
            raise fail("anniversary compares whole days: a date, ±N d|w|m|y or today", raw[1])
        return value


def anniversary_of(name: Token, args: list[Any], op: str) -> str:
    """The AST field of `anniversary('metafields.ns.key')` (or Shopify's older
    `anniversary(date: '…')`), after checking the argument and the operator."""
    if str(name).lower() != "anniversary":
        raise fail(f"{name}(…) expects = true or = false", name)
    if ("=" if op == "!=" else op) not in ANNIVERSARY_OPS:
        raise fail(f"anniversary does not take {op}; it takes {', '.join(ANNIVERSARY_OPS)}", name)
    text = _argument(args)
    if text is None or metafield_path(text) is None:
        raise fail(f"anniversary takes a metafield's name in quotes: {ANNIVERSARY_EXAMPLE}", name)
    return anniversary_field(text)


def _argument(args: list[Any]) -> str | None:
    if len(args) != 1:
        return None
    arg = args[0]
    if isinstance(arg, Tree):  # `date: '…'`
        key, arg = arg.children
        if str(key).lower() != "date":
            return None
    if isinstance(arg, tuple) and arg and arg[0] == "string":
        return unescape(str(arg[1]))
    return None
