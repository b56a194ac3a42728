"""Migrations build the whole schema on an empty database and match the models exactly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import inspect

from plugin.db import Base, make_engine
from plugin.errors import UnmigratedDatabase
from plugin.migrate import alembic_config, ensure_migrated, upgrade_head
from tests.conftest import fresh_postgres_database


@pytest.fixture
def empty_database_url(backend: str, tmp_path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with fresh_postgres_database("shopseg_mig") as url:
        yield url


def test_upgrade_head_then_alembic_check_finds_no_drift(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        with pytest.raises(UnmigratedDatabase, match="shopseg migrate"):
            ensure_migrated(engine)
        upgrade_head(engine)
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        ensure_migrated(engine)
        # `alembic check` raises when autogenerate would emit any operation.
        command.check(alembic_config(empty_database_url))
    finally:
        engine.dispose()
