"""The deprecated `function(param: value) = true|false` form, rewritten to MATCHES."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from lark import Token, Tree

from plugin.segments import ast
from plugin.segments.lang_build import RawParam, RawValue, function_spec
from plugin.segments.lang_values import fail

if TYPE_CHECKING:
    from plugin.segments.lang_build import Builder


def rewrite_old_call(builder: Builder, items: list[Any]) -> ast.Matches:
    """`products_purchased(id: 1, date: -30d) = true` → `products_purchased MATCHES (id = 1,
    date >= -30d)`: a date parameter meant "on or after", a list meant any of its values."""
    name, *args, op, raw = items
    spec = function_spec(name)
    truth = str(raw[1]).lower()
    if str(op) not in ("=", "!=") or raw[0] != "word" or truth not in ("true", "false"):
        raise fail(f"{spec.name}(…) expects = true or = false", op)
    params = builder.params(spec, [_raw_param(arg) for arg in args if arg is not None])
    matches = ast.Matches(spec.name, params, negated=(truth == "true") == (str(op) == "!="))
    from plugin.segments.printer import to_text

    old = f"{name}(…) {op} {truth}"
    builder.notices.append(f"deprecated {old} rewritten as {to_text(matches)}")
    return matches


def _raw_param(arg: Tree[Any]) -> RawParam:
    name, value = arg.children
    assert isinstance(name, Token)
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        return ("in", name, "IN", value)
    op = ">=" if str(name).lower() == "date" else "="
    return ("cmp", name, op, (cast(RawValue, value),))
