"""Autocomplete for the segment editor: what may come at the cursor, from the grammar's
expected tokens (lark's `accepts()`), the field catalogue and, for values, the shop's data."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lark import Token
from lark.exceptions import LarkError

from plugin.segments.catalogue import (
    FIELDS,
    FUNCTIONS,
    OPERATORS,
    PATTERNS,
    FieldSpec,
    ParamSpec,
)
from plugin.segments.lang_build import PARAM_OPERATORS
from plugin.segments.metafield_names import PREFIX, is_metafield
from plugin.segments.parser import MAX_BYTES, interactive, lark_parser

LIMIT = 20
VALUE_TERMINALS = frozenset({"STRING", "NUMBER", "DATE", "DATETIME", "RELDATE", "NAMED_DATE"})
OPERATOR_TERMINALS = frozenset({"CMP_OP", "BETWEEN", "IN", "CONTAINS", "IS", "MATCHES", "NOT"})
# The word being typed at the cursor: a name, an operator's start, or an unclosed string.
PARTIAL = re.compile(r"(?:'(?:\\.|[^'\\])*|[A-Za-z_][\w.]*|[<>!=]+|[+-]?\d[\w-]*)\Z")
DATE_VALUES = ("today", "yesterday", "-7d", "-30d", "-90d", "-365d")
# What a parameter's values come from (the field catalogue names sources for fields).
PARAM_SOURCES = {
    ("products_purchased", "id"): "products.platform_id",
    ("products_purchased", "tag"): "product_tags.tag",
    ("products_purchased", "product_type"): "products.product_type",
    ("products_purchased", "vendor"): "products.vendor",
}

METAFIELD, ANNIVERSARY = PATTERNS.values()
# The shop's metafield names (`namespace.key`), offered once `metafields.` is typed.
METAFIELD_NAMES = "customer_metafields.name"
# (source, typed prefix, limit) → [(value, how many have it, detail)], most common first.
Values = Callable[[str, str, int], list[tuple[str, int, str]]]


@dataclass(frozen=True)
class Suggestion:
    text: str  # inserted in place of text[start:end]
    kind: str  # field | function | parameter | operator | keyword | value
    detail: str = ""
    count: int | None = None  # customers (or products) with this value in the shop


@dataclass(frozen=True)
class Completion:
    start: int
    end: int
    suggestions: tuple[Suggestion, ...]


def complete(
    text: str, cursor: int | None = None, values: Values | None = None, limit: int = LIMIT
) -> Completion:
    """Suggestions for the word at `cursor` (default: the end); none where the text before
    it is already wrong (the preview shows that error)."""
    cursor = len(text) if cursor is None else max(0, min(cursor, len(text)))
    if len(text.encode("utf-8")) > MAX_BYTES:
        return Completion(cursor, cursor, ())
    partial = PARTIAL.search(text[:cursor])
    start = partial.start() if partial else cursor
    before, word = text[:start], text[start:cursor]
    try:
        accepts = frozenset(interactive(before).accepts())
        tokens = list(lark_parser().lex(before))
    except LarkError:
        return Completion(start, cursor, ())
    found = _suggest(tokens, accepts, word, values)
    return Completion(start, cursor, tuple(_matching(found, word))[:limit])


def _suggest(
    tokens: list[Token], accepts: frozenset[str], word: str, values: Values | None
) -> list[Suggestion]:
    function = _open_function(tokens)
    if accepts & VALUE_TERMINALS:
        return _values(_value_subject(tokens, function), word, values)
    if accepts & OPERATOR_TERMINALS:
        return _operators(tokens, accepts, function)
    if "NAME" in accepts:
        return _params(tokens, function) if function else _names(word, values)
    keywords = [Suggestion(k, "keyword") for k in ("AND", "OR") if k in accepts]
    return keywords + ([Suggestion(")", "keyword")] if "RPAR" in accepts else [])


def _names(word: str, values: Values | None) -> list[Suggestion]:
    """Fields, functions and the shapes of metafield names; once `metafields.` is typed,
    the shop's own metafields."""
    if is_metafield(word) and values is not None:
        typed = word[len(PREFIX) :]
        found = values(METAFIELD_NAMES, typed, LIMIT)
        return [Suggestion(PREFIX + name, "field", detail, n) for name, n, detail in found]
    fields = [Suggestion(f.name, "field", f.description) for f in FIELDS.values()]
    functions = [Suggestion(f.name, "function", f.description) for f in FUNCTIONS.values()]
    shapes = [
        Suggestion(PREFIX, "field", METAFIELD.description),
        Suggestion(f"anniversary('{PREFIX}", "function", ANNIVERSARY.description),
    ]
    return fields + functions + shapes


def _params(tokens: list[Token], function: str) -> list[Suggestion]:
    """A function's parameters not yet used inside its parentheses (each at most once)."""
    used = {t.value.lower() for t in tokens[_open_paren(tokens) + 1 :] if t.type == "NAME"}
    spec = FUNCTIONS[function]
    return [
        Suggestion(p.name, "parameter", p.description) for p in spec.params if p.name not in used
    ]


def _operators(
    tokens: list[Token], accepts: frozenset[str], function: str | None
) -> list[Suggestion]:
    last = tokens[-1] if tokens else None
    named = [t for t in tokens[-2:] if t.type == "NAME"]  # `x ▮`, `x NOT ▮`, `x IS ▮`
    subject = _lookup(named[-1].value.lower(), function) if named else None
    if isinstance(subject, str):  # a function name: MATCHES
        words = ["MATCHES (", "NOT MATCHES ("]
    elif isinstance(subject, FieldSpec):
        words = _spelled(OPERATORS.get(subject.type, ()))
    elif isinstance(subject, ParamSpec):
        words = _spelled(_param_ops(subject))
    else:
        words = []
    if last is not None and last.type in ("NOT", "IS"):  # the rest of a two-word operator
        lead = last.type + " "
        words = [w[len(lead) :] for w in words if w.startswith(lead)]
    return [Suggestion(w, "operator") for w in words if _terminal(w) in accepts]


def _terminal(word: str) -> str:
    """The grammar's terminal an operator as typed starts with (`>=` CMP_OP, `IN (` IN)."""
    first = word.split(" ", 1)[0]
    return first if first.isalpha() else "CMP_OP"


def _spelled(ops: tuple[str, ...]) -> list[str]:
    """The catalogue's operators as typed, with their negations (NOT IN, IS NOT NULL, …)."""
    words: list[str] = []
    for op in ops:
        words += {
            "IN": ["IN (", "NOT IN ("],
            "CONTAINS": ["CONTAINS", "NOT CONTAINS"],
            "IS NULL": ["IS NULL", "IS NOT NULL"],
        }.get(op, [op])
    return words


def _param_ops(param: ParamSpec) -> tuple[str, ...]:
    return PARAM_OPERATORS.get(param.type, PARAM_OPERATORS["string"])


def _values(
    subject: FieldSpec | ParamSpec | str | None, word: str, values: Values | None
) -> list[Suggestion]:
    if subject is None or isinstance(subject, str):
        return []
    kind = subject.type
    if kind == "boolean":
        return [Suggestion(v, "value") for v in ("true", "false")]
    if kind == "date":
        return [Suggestion(v, "value") for v in DATE_VALUES]
    if isinstance(subject, FieldSpec) and subject.enum_values:
        return [Suggestion(f"'{v}'", "value") for v in subject.enum_values]
    source = _source(subject)
    if source is None or values is None:
        return []
    typed = word[1:] if word.startswith("'") else word
    quoted = kind != "id"
    return [
        Suggestion(_literal(value) if quoted else value, "value", detail, count)
        for value, count, detail in values(source, typed.replace("\\'", "'"), LIMIT)
    ]


def _source(subject: FieldSpec | ParamSpec) -> str | None:
    if isinstance(subject, FieldSpec):
        return subject.value_source if subject.value_source != "enum" else None
    owner = next((f.name for f in FUNCTIONS.values() if subject in f.params), None)
    return PARAM_SOURCES.get((owner or "", subject.name))


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _matching(found: list[Suggestion], word: str) -> list[Suggestion]:
    """Those that continue the typed word (case-insensitive; quotes ignored)."""
    typed = word.lstrip("'").lower()
    if not typed:
        return found
    return [
        s
        for s in found
        if s.count is not None  # the shop's values, already matched in the database
        or (s.text.lstrip("'").lower().startswith(typed) and s.text != word)
    ]


def _open_paren(tokens: list[Token]) -> int:
    """Index of the innermost unclosed '(' (-1 without one)."""
    depth = 0
    for i in range(len(tokens) - 1, -1, -1):
        if tokens[i].type == "RPAR":
            depth += 1
        elif tokens[i].type == "LPAR":
            if depth == 0:
                return i
            depth -= 1
    return -1


def _open_function(tokens: list[Token]) -> str | None:
    """The function whose MATCHES parentheses the cursor is in, if any."""
    at = _open_paren(tokens)
    if at >= 2 and tokens[at - 1].type == "MATCHES":
        name = tokens[at - 2] if tokens[at - 2].type == "NAME" else tokens[at - 3]
        return name.value.lower() if name.value.lower() in FUNCTIONS else None
    return None


def _value_subject(tokens: list[Token], function: str | None) -> FieldSpec | ParamSpec | str | None:
    """The field or parameter the value at the end is compared with: the last name an
    operator follows (`x BETWEEN 1 AND ▮`, `x IN ('a', ▮`)."""
    for i in range(len(tokens) - 2, -1, -1):
        if tokens[i].type == "NAME" and tokens[i + 1].type in OPERATOR_TERMINALS:
            return _lookup(tokens[i].value.lower(), function)
    return None


def _lookup(name: str, function: str | None) -> FieldSpec | ParamSpec | str | None:
    if is_metafield(name):
        return METAFIELD
    if function is not None:
        param = FUNCTIONS[function].param(name)
        if param is not None:
            return param
    if name in FUNCTIONS:
        return name
    return FIELDS.get(name)
