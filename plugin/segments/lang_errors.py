"""Words for what the parser expected, and where an error sits in the text."""

from __future__ import annotations

from lark.exceptions import UnexpectedEOF, UnexpectedInput

TERMINAL_WORDS = {
    "NAME": "a field name",
    "CMP_OP": "an operator (=, !=, <, <=, >, >=)",
    "STRING": "a quoted string",
    "NUMBER": "a number",
    "DATE": "a date",
    "DATETIME": "a date and time",
    "RELDATE": "a date offset",
    "NAMED_DATE": "a date offset",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "COLON": "':'",
    "$END": "the end of the query",
}
ORDER = ["NAME", "CMP_OP", "STRING", "NUMBER", "DATE", "RELDATE", "LPAR", "RPAR"]


def describe_expected(terminals: set[str] | frozenset[str]) -> str:
    """`{"CMP_OP", "IN", "BETWEEN"}` → "an operator (=, …), BETWEEN or IN"."""
    words: list[str] = []
    if "STRING" in terminals:  # in a value's place a bare word is one of these
        words.append("today, yesterday, true or false")
        terminals = set(terminals) - {"NAME"}
    for name in sorted(terminals, key=lambda t: (ORDER.index(t) if t in ORDER else 99, t)):
        word = TERMINAL_WORDS.get(name, name)
        if word not in words:
            words.append(word)
    if not words:
        return "something else"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def position_of(text: str, error: UnexpectedInput) -> tuple[int, int]:
    """1-based line and column of the error (the end of the text for an early end)."""
    token = getattr(error, "token", None)
    at_end = isinstance(error, UnexpectedEOF) or getattr(token, "type", None) == "$END"
    line, column = getattr(error, "line", None), getattr(error, "column", None)
    if not at_end and isinstance(line, int) and isinstance(column, int) and line > 0 and column > 0:
        return line, column
    lines = text.rstrip().split("\n")
    return len(lines), len(lines[-1]) + 1
