"""Throwaway benchmark databases (a temp SQLite file or a fresh PostgreSQL database)."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import URL, Engine, text

# The maintenance database the throwaway one is created from (same default as the tests).
PG_ADMIN_DSN = os.environ.get(
    "SHOPSEG_BENCH_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)
CONNECT_TIMEOUT_SECONDS = 5
BACKENDS = ("sqlite", "postgresql")


@contextmanager
def throwaway_database(backend: str) -> Iterator[str]:
    """A database URL for one run; the file or database is gone afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="shopseg-bench-") as directory:
            yield f"sqlite:///{Path(directory) / 'bench.db'}"
    elif backend == "postgresql":
        with _postgres_database() as url:
            yield url
    else:
        raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")


@contextmanager
def _postgres_database() -> Iterator[str]:
    name = f"shopseg_bench_{os.getpid()}_{secrets.token_hex(4)}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield _url(name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(sql: str) -> None:
    with psycopg.connect(
        PG_ADMIN_DSN, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
    ) as conn:
        conn.execute(sql.encode())


def _url(database: str) -> str:
    params = conninfo_to_dict(PG_ADMIN_DSN)
    url = URL.create(
        "postgresql+psycopg",
        username=str(params.get("user") or "postgres"),
        password=str(params["password"]) if params.get("password") else None,
        host=str(params.get("host") or "127.0.0.1"),
        port=int(params.get("port") or 5432),
        database=database,
    )
    return url.render_as_string(hide_password=False)


def server_version(engine: Engine) -> str:
    """`SQLite 3.40.1` or `PostgreSQL 15.20`."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            return f"SQLite {conn.scalar(text('SELECT sqlite_version()'))}"
    with engine.connect() as conn:
        return f"PostgreSQL {conn.scalar(text('SHOW server_version'))}".split(" (")[0]


def vacuum_analyze(engine: Engine) -> None:
    """PostgreSQL: no dead rows and fresh statistics, so every timed drain starts alike
    (autovacuum would do the same in production). SQLite is left as the app leaves it:
    it never runs ANALYZE, so the benchmark must not hand its planner statistics."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
