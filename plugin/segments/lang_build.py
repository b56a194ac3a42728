"""From lark's parse tree to the AST, checking every name, operator and value on the way."""

from __future__ import annotations

import difflib
from decimal import Decimal
from typing import Any, cast

from lark import Token, Transformer, Tree

from plugin.segments import ast
from plugin.segments.catalogue import (
    CHANGED_MEANING,
    FIELDS,
    FUNCTIONS,
    OPERATORS,
    FunctionSpec,
    all_names,
    not_available,
)
from plugin.segments.lang_metafields import (
    CallRules,
    metafield_between,
    metafield_name,
    metafield_value,
)
from plugin.segments.lang_values import coerce, fail
from plugin.segments.metafield_names import is_metafield
from plugin.segments.printer import to_text

MAX_IN_LIST = 500
RawValue = tuple[str, Token]  # (lexical kind, token)
# A MATCHES parameter before its function is known: (kind, name, op, raw values).
RawParam = tuple[str, Token, str, tuple[RawValue, ...]]


def suggestion(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name.lower(), choices, n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else ""


def check_available(name: Token) -> None:
    if not_available(str(name).lower()):
        raise fail(f"not available in this app: {name}", name)


def check_op(what: str, type_: str, op: str, at: Token) -> None:
    allowed = OPERATORS.get(type_, ("=", "!=", "IN"))
    if ("=" if op == "!=" else op) not in allowed:
        raise fail(f"{what} ({type_}) does not take {op}; it takes {', '.join(allowed)}", at)


def field_spec(name: Token, op: str) -> tuple[str, str, tuple[str, ...]]:
    """(canonical name, type, enum values) of a field used with `op`, or a QueryError."""
    check_available(name)
    key = str(name).lower()
    if key in FUNCTIONS:
        raise fail(f"{key} is a function: use {key} MATCHES (…)", name)
    spec = FIELDS.get(key)
    if spec is None:
        raise fail(f"unknown field '{name}'{suggestion(key, all_names())}", name)
    check_op(key, spec.type, op, name)
    return key, spec.type, spec.enum_values


def function_spec(name: Token) -> FunctionSpec:
    check_available(name)
    key = str(name).lower()
    spec = FUNCTIONS.get(key)
    if spec is None:
        hint = suggestion(key, all_names())
        raise fail(f"unknown function '{name}'{hint}", name)
    return spec


# Operators each parameter type takes inside MATCHES.
PARAM_OPERATORS = {
    "id": ("=", "IN"),
    "category": ("=", "IN"),
    "string": ("=", "IN"),
    "date": ("=", "<", "<=", ">", ">=", "BETWEEN"),
    "money": ("=", "<", "<=", ">", ">=", "BETWEEN"),
    "integer": ("=", "<", "<=", ">", ">=", "BETWEEN"),
    "currency": ("=", "IN"),
    "balance": ("=", "<", "<=", ">", ">=", "BETWEEN"),
}


class Builder(CallRules, Transformer[Token, Any]):
    """Each rule method returns an AST node; `notices` collects deprecation rewrites."""

    def __init__(self) -> None:
        super().__init__()
        self.notices: list[str] = []

    # --- values stay raw until the field's type is known
    def _raw(self, items: list[Token]) -> RawValue:
        token = items[0]
        return ("word" if token.type == "NAME" else token.type.lower(), token)

    string = number = datetime = date = reldate = named_date = word = _raw

    def value_list(self, items: list[RawValue]) -> tuple[RawValue, ...]:
        if len(items) > MAX_IN_LIST:
            raise fail(f"a list holds at most {MAX_IN_LIST} values", items[MAX_IN_LIST][1])
        return tuple(items)

    def value(self, raw: RawValue, what: str, type_: str, enums: tuple[str, ...] = ()) -> ast.Value:
        return coerce(raw[0], raw[1], type_, what, enums, self.notices)

    # --- boolean structure (flattened: an AND of ANDs is one AND)
    def or_expr(self, items: list[Any]) -> ast.Or:
        return ast.Or(_flatten(ast.Or, [i for i in items if not isinstance(i, Token)]))

    def and_expr(self, items: list[Any]) -> ast.And:
        return ast.And(_flatten(ast.And, [i for i in items if not isinstance(i, Token)]))

    # --- field conditions
    def field(self, name: Token, op: str) -> tuple[str, str, tuple[str, ...]]:
        found = field_spec(name, op)
        notice = CHANGED_MEANING.get(found[0])
        if notice is not None and notice not in self.notices:
            self.notices.append(notice)
        return found

    def comparison(self, items: list[Any]) -> ast.Comparison:
        name, op, raw = items
        if is_metafield(str(name)):
            value = metafield_value(name, str(op), raw, self.notices)
            return ast.Comparison(metafield_name(name), str(op), value)
        key, type_, enums = self.field(name, str(op))
        return ast.Comparison(key, str(op), self.value(raw, key, type_, enums))

    def between(self, items: list[Any]) -> ast.Between:
        name, _, low, _, high = items
        if is_metafield(str(name)):
            return metafield_between(name, low, high, self.notices)
        key, type_, enums = self.field(name, "BETWEEN")
        return ast.Between(key, self.value(low, key, type_, enums), self.value(high, key, type_))

    def in_list(self, items: list[Any], negated: bool = False) -> ast.InList:
        name, raws = items[0], items[-1]
        if is_metafield(str(name)):
            raise fail(f"a metafield does not take IN: write {name} = … OR {name} = …", name)
        key, type_, enums = self.field(name, "IN")
        return ast.InList(key, tuple(self.value(r, key, type_, enums) for r in raws), negated)

    def not_in_list(self, items: list[Any]) -> ast.InList:
        return self.in_list(items, negated=True)

    def contains(self, items: list[Any], negated: bool = False) -> ast.Contains:
        name, raw = items[0], items[-1]
        if is_metafield(str(name)):
            value = metafield_value(name, "CONTAINS", raw, self.notices)
            return ast.Contains(metafield_name(name), value, negated)
        key, type_, _ = self.field(name, "CONTAINS")
        if type_ == "id_list":
            return ast.Contains(key, id_value(raw, key), negated)
        return ast.Contains(key, self.value(raw, key, "string"), negated)

    def not_contains(self, items: list[Any]) -> ast.Contains:
        return self.contains(items, negated=True)

    def is_null(self, items: list[Any], negated: bool = False) -> ast.IsNull:
        if is_metafield(str(items[0])):
            return ast.IsNull(metafield_name(items[0]), negated)
        key, _, _ = self.field(items[0], "IS NULL")
        return ast.IsNull(key, negated)

    def is_not_null(self, items: list[Any]) -> ast.IsNull:
        return self.is_null(items, negated=True)

    # --- functions: parameters are checked against the function's own parameter list
    def param_comparison(self, items: list[Any]) -> RawParam:
        return ("cmp", items[0], str(items[1]), (items[2],))

    def param_between(self, items: list[Any]) -> RawParam:
        return ("between", items[0], "BETWEEN", (items[2], items[4]))

    def param_in(self, items: list[Any]) -> RawParam:
        return ("in", items[0], "IN", items[-1])

    def param_not_in(self, items: list[Any]) -> RawParam:
        return ("not_in", items[0], "IN", items[-1])

    def matches(self, items: list[Any], negated: bool = False) -> ast.Matches:
        spec = function_spec(items[0])
        raw = [p for p in items[2:] if p is not None]
        return ast.Matches(spec.name, self.params(spec, raw), negated)

    def not_matches(self, items: list[Any]) -> ast.Matches:
        return self.matches([items[0], *items[2:]], negated=True)

    def params(self, spec: FunctionSpec, raws: list[RawParam]) -> tuple[ast.Param, ...]:
        """Each parameter checked; one Shopify takes at most once (`location_id`) may not
        come again, as Shopify refuses it (the error points at the repeat)."""
        out: list[ast.Param] = []
        for raw in raws:
            param = self.param(spec, raw)
            once = spec.param(param.field)
            if once is not None and once.once and any(p.field == param.field for p in out):
                raise fail(f"{spec.name} takes {param.field} at most once", raw[1])
            out.append(param)
        return tuple(out)

    def param(self, spec: FunctionSpec, raw: RawParam) -> ast.Param:
        kind, name, op, raws = raw
        key = str(name).lower()
        alias = dict(spec.aliases).get(key)
        if alias is not None:
            self.notices.append(f"{spec.name} parameter {key} is read as {alias}")
        param = spec.param(alias or key)
        if param is None:
            hint = suggestion(str(name), list(spec.param_names))
            raise fail(f"{spec.name} has no parameter '{name}'{hint}", name)
        what = f"{spec.name} {param.name}"
        allowed = PARAM_OPERATORS[param.type]
        if ("=" if op == "!=" else op) not in allowed:
            raise fail(f"{what} does not take {op}; it takes {', '.join(allowed)}", name)
        values = tuple(self.value(r, what, param.type) for r in raws)
        if kind == "cmp":
            return ast.Comparison(param.name, op, values[0])
        if kind == "between":
            return ast.Between(param.name, values[0], values[1])
        return ast.InList(param.name, values, negated=kind == "not_in")

    def old_call(self, name: Token, args: list[Any], op: Token, raw: RawValue) -> ast.Matches:
        """The deprecated `products_purchased(id: 1, date: -30d) = true` → `products_purchased
        MATCHES (id = 1, date >= -30d)`: a date parameter meant "on or after", a list meant
        any of its values."""
        spec = function_spec(name)
        truth = str(raw[1]).lower()
        if str(op) not in ("=", "!=") or raw[0] != "word" or truth not in ("true", "false"):
            raise fail(f"{spec.name}(…) expects = true or = false", op)
        if not all(isinstance(arg, Tree) for arg in args):
            raise fail(f"{spec.name}(…) takes name: value parameters", name)
        params = self.params(spec, [_old_param(arg) for arg in args])
        matches = ast.Matches(spec.name, params, negated=(truth == "true") == (str(op) == "!="))
        self.notices.append(f"deprecated {name}(…) {op} {truth} rewritten as {to_text(matches)}")
        return matches


def id_value(raw: RawValue, what: str) -> ast.Num:
    """An id as a number, or as its GID (`'gid://shopify/Company/4001'` is 4001)."""
    kind, token = raw
    text = str(token)
    if kind == "string":
        tail = text[1:-1].rsplit("/", 1)[-1]
        if text[1:].startswith("gid://") and tail.isdigit():
            return ast.Num(Decimal(tail))
    value = coerce(kind, token, "id", what, (), [])
    assert isinstance(value, ast.Num)
    return value


def _old_param(arg: Tree[Any]) -> RawParam:
    name, value = arg.children
    assert isinstance(name, Token)
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return ("in", name, "IN", value)
    op = ">=" if str(name).lower() == "date" else "="
    return ("cmp", name, op, (cast(RawValue, value),))


def _flatten(kind: type[ast.And] | type[ast.Or], items: list[Any]) -> tuple[Any, ...]:
    out: list[Any] = []
    for item in items:
        out.extend(getattr(item, "items") if isinstance(item, kind) else [item])  # noqa: B009
    return tuple(out)
