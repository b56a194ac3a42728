"""Turning raw literal tokens into typed AST values for a field of a known type."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from lark import Token

from plugin.segments import ast
from plugin.segments.errors import QueryError

# Offsets beyond these would leave the calendar (year 1..9999) from any plausible clock.
MAX_OFFSET = {"h": 8_760_000, "d": 365_000, "w": 52_000, "m": 12_000, "y": 1_000}
MAX_NUMBER = Decimal(10) ** 15
MAX_ID = Decimal(2) ** 64  # platform ids are unsigned 64-bit
MIN_YEAR, MAX_YEAR = 1000, 8999
D = TypeVar("D", date, datetime)
NAMED = re.compile(r"(\d+)_(day|week|month|year)s?_ago")
TYPE_WORDS = {
    "integer": "a whole number",
    "number": "a number",
    "money": "an amount (a number in the shop currency)",
    "id": "an id (a whole number)",
    "category": "a quoted taxonomy category id",
    "date": "a date (YYYY-MM-DD, ±N d|w|m|y, ±N h, today or yesterday)",
    "string": "a quoted string",
    "enum": "one of the quoted values",
    "string_list": "a quoted string",
    "boolean": "true or false",
    "currency": "a quoted currency code",
    "balance": "an amount (a number in the account's currency)",
}


def fail(message: str, token: Token) -> QueryError:
    return QueryError(message, token.line or 1, token.column or 1)


def unescape(text: str) -> str:
    """`'it\\'s'` → `it's`: a backslash keeps the next character as it is."""
    return re.sub(r"\\(.)", r"\1", text[1:-1], flags=re.DOTALL)


def coerce(
    kind: str, token: Token, type_: str, what: str, enum_values: tuple[str, ...], notices: list[str]
) -> ast.Value:
    """The value `token` (of lexical `kind`) as `what` of `type_` expects, or a QueryError."""
    value = _coerce(kind, token, type_, enum_values, notices)
    if value is None:
        found = f"'{token}'" if kind != "string" else str(token)
        raise fail(f"{what} expects {TYPE_WORDS[type_]}, found {found}", token)
    if type_ == "enum":
        assert isinstance(value, ast.Str)
        matched = [v for v in enum_values if v.casefold() == value.value.casefold()]
        if not matched:
            raise fail(
                f"{what} has no value '{value.value}'; expected one of " + ", ".join(enum_values),
                token,
            )
        return ast.Str(matched[0])
    return value


def _coerce(
    kind: str, token: Token, type_: str, enum_values: tuple[str, ...], notices: list[str]
) -> ast.Value | None:
    text = str(token)
    if type_ in ("integer", "id"):
        limit = MAX_ID if type_ == "id" else MAX_NUMBER
        return _number(token, integral=True, limit=limit) if kind == "number" else None
    if type_ in ("number", "money", "balance"):
        return _number(token, integral=False) if kind == "number" else None
    if type_ == "date":
        return _date(kind, token, notices)
    if type_ == "boolean":
        return ast.Bool(text.lower() == "true") if text.lower() in ("true", "false") else None
    if type_ == "currency":
        code = unescape(text).strip().upper() if kind == "string" else ""
        return ast.Str(code) if len(code) == 3 and code.isascii() and code.isalpha() else None
    if kind == "string":
        return ast.Str(unescape(text))
    if type_ == "enum" and kind == "word":
        return ast.Str(text)
    return None


def _number(token: Token, integral: bool, limit: Decimal = MAX_NUMBER) -> ast.Num | None:
    try:
        value = Decimal(str(token))
    except InvalidOperation:
        return None
    if abs(value) >= limit:
        raise fail(f"number {token} is out of range", token)
    if integral and value != value.to_integral_value():
        return None
    return ast.Num(value)


def _date(kind: str, token: Token, notices: list[str]) -> ast.Value | None:
    text = str(token)
    try:
        if kind == "date":
            return ast.AbsDate(_in_range(date.fromisoformat(text), token))
        if kind == "datetime":
            return ast.AbsDateTime(_in_range(datetime.fromisoformat(text), token))
    except ValueError:
        raise fail(f"'{text}' is not a valid date", token) from None
    if kind == "reldate":
        return _offset(int(text[:-1]), text[-1], token)
    if kind == "named_date":
        found = NAMED.fullmatch(text)
        assert found is not None
        value = _offset(-int(found.group(1)), found.group(2)[0], token)
        notices.append(f"named date {text} is deprecated: rewritten as {value.amount}{value.unit}")
        return value
    if kind == "word" and text.lower() in ("today", "yesterday"):
        return ast.NamedDay(text.lower())
    return None


def _in_range(value: D, token: Token) -> D:
    # the day after, in any timezone, must still be a date Python can hold
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise fail(f"date {token} is out of range ({MIN_YEAR}-{MAX_YEAR})", token)
    return value


def _offset(amount: int, unit: str, token: Token) -> ast.RelDate:
    if abs(amount) > MAX_OFFSET[unit]:
        raise fail(f"date offset {token} is out of range", token)
    return ast.RelDate(amount, unit)
