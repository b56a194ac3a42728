"""Parsing segment query text into a checked AST, with errors that say where and what."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, VisitError
from lark.parsers.lalr_interactive_parser import InteractiveParser

from plugin.segments import ast
from plugin.segments.catalogue import not_available
from plugin.segments.errors import QueryError
from plugin.segments.lang_build import Builder
from plugin.segments.lang_errors import describe_expected, position_of
from plugin.segments.printer import to_text

MAX_BYTES = 5 * 1024
MAX_DEPTH = 10
# Shopify's editor shows the WHERE clause inside `FROM customers SHOW … WHERE …`.
WRAPPER = re.compile(r"\A\s*FROM\s+customers\b.*?\bWHERE\b", re.IGNORECASE | re.DOTALL)
NAME_OUTSIDE_STRINGS = re.compile(r"'(?:\\.|[^'\\])*'|([A-Za-z_][\w.]*)")
TRAILER = re.compile(r"\s+ORDER\s+BY\s+[A-Za-z_][\w\s,]*\Z", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedQuery:
    ast: ast.Node
    canonical: str
    notices: tuple[str, ...]


@cache
def lark_parser() -> Lark:
    """The LALR parser with the contextual lexer (autocomplete asks it what `accepts()`)."""
    grammar = files("plugin.segments").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=False)


def interactive(text: str) -> InteractiveParser:
    """An interactive parser fed with `text`: `.accepts()` names what may come next."""
    parser = lark_parser().parse_interactive(text)
    parser.exhaust_lexer()
    return parser


def parse_query(text: str) -> ParsedQuery:
    """Checked AST, canonical text and notices of `text`; QueryError for anything wrong."""
    _check_size(text)
    body, notices = _strip_wrapper(text)
    _check_depth(body)
    if not body.strip():
        raise QueryError("empty query: expected a condition such as number_of_orders >= 1")
    builder = Builder()
    node = _build(builder, _tree(body))
    return ParsedQuery(node, to_text(node), tuple(notices + builder.notices))


def _tree(body: str) -> Tree[Token]:
    try:
        return lark_parser().parse(body)
    except UnexpectedInput as error:
        _check_names(body)  # a Shopify-only filter is the better message than its syntax
        raise _syntax_error(body, error) from None


def _build(builder: Builder, tree: Tree[Token]) -> ast.Node:
    try:
        return builder.transform(tree)  # type: ignore[no-any-return]
    except VisitError as error:
        if isinstance(error.orig_exc, QueryError):
            raise error.orig_exc from None
        raise


def _syntax_error(body: str, error: UnexpectedInput) -> QueryError:
    line, column = position_of(body, error)
    pos = _offset(body, error)
    if isinstance(error, UnexpectedCharacters) and body[pos : pos + 1] == "'":
        return QueryError("a string starts here but its closing quote is missing", line, column)
    expected = describe_expected(_expected_at(body[:pos]) or _lark_expected(error))
    return QueryError(f"unexpected {_found(body, error)}; expected {expected}", line, column)


def _offset(body: str, error: UnexpectedInput) -> int:
    token = getattr(error, "token", None)
    if isinstance(error, UnexpectedEOF) or getattr(token, "type", None) == "$END":
        return len(body)  # lark's $END borrows the last token's position
    if token is not None and token.start_pos is not None:
        return int(token.start_pos)
    pos = getattr(error, "pos_in_stream", None)
    return len(body) if pos is None else int(pos)


def _expected_at(prefix: str) -> set[str]:
    """Exactly what the grammar accepts after `prefix` (LALR's merged states over-report)."""
    try:
        return set(interactive(prefix).accepts())
    except UnexpectedInput:
        return set()


def _lark_expected(error: UnexpectedInput) -> set[str]:
    return set(getattr(error, "expected", None) or getattr(error, "allowed", None) or ())


def _found(body: str, error: UnexpectedInput) -> str:
    if isinstance(error, UnexpectedEOF):
        return "end of the query"
    if isinstance(error, UnexpectedCharacters):
        pos = error.pos_in_stream
        return repr(body[pos]) if pos is not None and pos < len(body) else "?"
    token = getattr(error, "token", None)
    if token is None or token.type == "$END":
        return "end of the query"
    return repr(str(token))


def _check_names(body: str) -> None:
    for found in NAME_OUTSIDE_STRINGS.finditer(body):
        if found.group(1) and not_available(found.group(1).lower()):
            line = body.count("\n", 0, found.start(1)) + 1
            column = found.start(1) - (body.rfind("\n", 0, found.start(1)) + 1) + 1
            raise QueryError(f"not available in this app: {found.group(1)}", line, column)


def _check_size(text: str) -> None:
    size = len(text.encode("utf-8"))
    if size > MAX_BYTES:
        raise QueryError(f"query is {size} bytes; the limit is {MAX_BYTES}")
    # PostgreSQL text cannot hold NUL: a literal carrying one would fail in the database
    # instead of here (found by benchmarks.fuzz); no stored value can contain it either.
    if "\x00" in text:
        at = text.index("\x00")
        line = text.count("\n", 0, at) + 1
        raise QueryError("the query contains a NUL character", line, at - text.rfind("\n", 0, at))


def _strip_wrapper(text: str) -> tuple[str, list[str]]:
    """Blank out a pasted `FROM customers SHOW … WHERE` (and `ORDER BY …`), keeping every
    other character where it was so error positions still point into the original text."""
    head = WRAPPER.match(text)
    if head is None:
        return text, []
    body = re.sub(r"[^\n]", " ", head.group(0)) + text[head.end() :]
    tail = TRAILER.search(body)
    if tail is not None:
        body = body[: tail.start()]
    return body, ["FROM customers SHOW … WHERE wrapper removed: only the condition is kept"]


def _check_depth(body: str) -> None:
    """Parentheses nested deeper than MAX_DEPTH (outside strings) are refused up front."""
    depth, quoted, escaped = 0, False, False
    line, column = 1, 0
    for char in body:
        line, column = (line + 1, 0) if char == "\n" else (line, column + 1)
        if quoted:
            quoted, escaped = (escaped or char != "'"), (not escaped and char == "\\")
            continue
        if char == "'":
            quoted = True
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth > MAX_DEPTH:
            raise QueryError(f"parentheses nest deeper than {MAX_DEPTH}", line, column)
