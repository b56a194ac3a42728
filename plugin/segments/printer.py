"""The canonical text of a query: what is stored, and a fixed point of print → parse → print."""

from __future__ import annotations

from decimal import Decimal

from plugin.segments import ast


def to_text(node: ast.Node) -> str:
    """Canonical text: upper-case keywords, single spaces, parentheses only where needed."""
    if isinstance(node, ast.Or):
        return " OR ".join(to_text(item) for item in node.items)
    if isinstance(node, ast.And):
        return " AND ".join(_grouped(item) for item in node.items)
    return _condition(node)


def _grouped(node: ast.Node) -> str:
    return f"({to_text(node)})" if isinstance(node, ast.Or) else to_text(node)


def _condition(node: ast.Condition) -> str:
    if isinstance(node, ast.Comparison):
        return f"{node.field} {node.op} {value_text(node.value)}"
    if isinstance(node, ast.Between):
        return f"{node.field} BETWEEN {value_text(node.low)} AND {value_text(node.high)}"
    if isinstance(node, ast.InList):
        values = ", ".join(value_text(v) for v in node.values)
        return f"{node.field} {'NOT IN' if node.negated else 'IN'} ({values})"
    if isinstance(node, ast.Contains):
        keyword = "NOT CONTAINS" if node.negated else "CONTAINS"
        return f"{node.field} {keyword} {value_text(node.value)}"
    if isinstance(node, ast.IsNull):
        return f"{node.field} IS {'NOT NULL' if node.negated else 'NULL'}"
    params = ", ".join(_condition(p) for p in node.params)
    return f"{node.function} {'NOT MATCHES' if node.negated else 'MATCHES'} ({params})"


def value_text(value: ast.Value) -> str:
    if isinstance(value, ast.Str):
        return "'" + value.value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, ast.Num):
        return number_text(value.value)
    if isinstance(value, ast.Bool):
        return "true" if value.value else "false"
    if isinstance(value, ast.AbsDate):
        return value.value.isoformat()
    if isinstance(value, ast.AbsDateTime):
        return value.value.replace(microsecond=0).isoformat(timespec="seconds")
    if isinstance(value, ast.RelDate):
        return f"{'+' if value.amount >= 0 else '-'}{abs(value.amount)}{value.unit}"
    return value.name


def number_text(value: Decimal) -> str:
    """Plain decimal notation without trailing zeros: 100.0 → 100, 999.990 → 999.99."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text
