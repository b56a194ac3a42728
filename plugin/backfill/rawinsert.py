"""One INSERT per batch through the driver itself (no SQLAlchemy per-row work): SQLite's
executemany, PostgreSQL's COPY.

Staging writes millions of rows; SQLAlchemy's parameter processing cost more than the
database did. Values are converted here the way the column types would: aware datetimes
to SQLite's stored text (as `plugin.db.UTCDateTime` writes them), JSON to text or Jsonb.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, Table

from plugin.db import UTCDateTime


def _sqlite_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _converters(
    table: Table, columns: Sequence[str], dialect: str
) -> list[Callable[[Any], Any] | None]:
    out: list[Callable[[Any], Any] | None] = []
    for name in columns:
        kind = table.c[name].type
        if dialect == "sqlite" and isinstance(kind, UTCDateTime):
            out.append(_sqlite_time)
        elif isinstance(kind, JSON) or isinstance(getattr(kind, "impl", None), JSON):
            if dialect == "sqlite":
                out.append(_sqlite_json)
            else:
                from psycopg.types.json import Jsonb

                out.append(lambda v: None if v is None else Jsonb(v))
        else:
            out.append(None)
    return out


def insert_rows(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT `rows` (dicts with the same keys) into `table` with one executemany."""
    if not rows:
        return
    dialect = connection.dialect.name
    columns = list(rows[0])
    marker = "?" if dialect == "sqlite" else "%s"
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join([marker] * len(columns))})'
    convert = _converters(table, columns, dialect)
    params = [
        tuple(
            v if f is None else f(v)
            for f, v in zip(convert, (row[c] for c in columns), strict=True)
        )
        for row in rows
    ]
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if dialect == "postgresql":  # COPY: several times faster than executemany there
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for row in params:
                    copy.write_row(row)
        else:
            cursor.executemany(sql, params)
    finally:
        cursor.close()
