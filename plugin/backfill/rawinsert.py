"""One INSERT per batch through the driver itself (no SQLAlchemy per-row work): SQLite's
executemany, PostgreSQL's COPY.

Staging writes millions of rows; SQLAlchemy's parameter processing cost more than the
database did. Callers hand over tuples of values the driver takes as they are: on SQLite
a UTCDateTime is text in the form SQLAlchemy writes (`2026-01-01 00:00:00.000000`, UTC),
JSON is text; on PostgreSQL COPY sends every value as text that the server parses into
the column's type (a `…Z` stamp into timestamptz, JSON text into jsonb).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection


def sqlite_time(value: datetime | None) -> str | None:
    """An aware datetime as SQLite stores a UTCDateTime (plugin.db)."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def insert_tuples(
    connection: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """INSERT `rows` (tuples in the order of `columns`) into `table` in one driver call."""
    if not rows:
        return
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if connection.dialect.name == "postgresql":  # COPY: several times faster there
            with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            cursor.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
    finally:
        cursor.close()
