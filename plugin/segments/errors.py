"""The one error a segment query raises: what went wrong, where, and what was expected."""

from __future__ import annotations

from plugin.errors import ValidationError


class QueryError(ValidationError):
    """A query that cannot be used as it is; `line`/`column` are 1-based positions in it."""

    code = "invalid_query"

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(f"{message} (line {line}, column {column})")
        self.message = message
        self.line = line
        self.column = column
