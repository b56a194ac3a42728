"""Shared fixtures: every database test runs on SQLite and, when it answers, PostgreSQL.

PostgreSQL gets a fresh database per test run (dropped at the end); both backends get the
schema once per run and every table emptied before each test.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hyp_settings
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

import plugin.models  # noqa: F401  (registers every table)
from plugin.db import Base, make_engine, make_session_factory
from plugin.platforms.shopify.admin_schema import schema_path
from plugin.settings import DEFAULT_API_VERSION, Settings

pytest_plugins = [
    "tests.support.simulator",
    "tests.support.live",
    "tests.support.profiles",
    "tests.support.admin",
]

# Everything tests read is in the repository: payload fixtures under tests/fixtures (see
# tests/support/profiles.py), Shopify's schema and CDNOW as package data.
SHOPIFY_SCHEMA = schema_path(DEFAULT_API_VERSION)

hyp_settings.register_profile(
    "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hyp_settings.register_profile("dev", max_examples=100, deadline=None)
hyp_settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
)

PG_ADMIN_DSN = os.environ.get(
    "SHOPSEG_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)


def _postgres_answers() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


PG_AVAILABLE = _postgres_answers()
if os.environ.get("SHOPSEG_REQUIRE_POSTGRES") == "1" and not PG_AVAILABLE:
    raise RuntimeError(
        "SHOPSEG_REQUIRE_POSTGRES=1 but PostgreSQL at 127.0.0.1:5432 does not answer"
    )
BACKENDS = ["sqlite", "postgresql"] if PG_AVAILABLE else ["sqlite"]

TEST_API_KEY = "test-api-key"
# As long as a real client secret: PyJWT warns about HMAC keys under 32 bytes.
TEST_API_SECRET = "shpss_test0api0secret0000000000000000"


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """An empty PostgreSQL database (its SQLAlchemy URL), dropped afterwards."""
    if not PG_AVAILABLE:
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped afterwards."""
    with fresh_postgres_database("shopseg_test") as url:
        yield url


@pytest.fixture(scope="session")
def _engines(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], Engine]]:
    """Engines by backend, created (with the schema) the first time a test asks."""
    engines: dict[str, Engine] = {}

    def get(backend: str) -> Engine:
        if backend not in engines:
            if backend == "sqlite":
                url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'shopseg.db'}"
            else:
                url = request.getfixturevalue("pg_url")
            engines[backend] = make_engine(url)
            Base.metadata.create_all(engines[backend])
        return engines[backend]

    yield get
    for engine in engines.values():
        engine.dispose()


def empty_all_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine(backend: str, _engines: Callable[[str], Engine]) -> Engine:
    """An engine on the backend under test, with the full schema and no rows."""
    eng = _engines(backend)
    empty_all_tables(eng)
    return eng


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as s:
        yield s


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    """Settings for the database under test (tests needing HTTP replace the URLs)."""
    return replace(
        Settings(),
        database_url=engine.url.render_as_string(hide_password=False),
        shopify_api_key=TEST_API_KEY,
        shopify_api_secret=TEST_API_SECRET,
        secret_key="test-secret-key-" + "x" * 32,
        app_url="http://127.0.0.1:5999",
    )
