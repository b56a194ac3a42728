"""What the migration tests share: an empty database per backend and a shop row written
in plain SQL (the models may not match the revision a test stands on)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from tests.conftest import fresh_postgres_database

SHOP_ROW = text(
    "INSERT INTO shops (id, platform, domain, install_state, currency, timezone, created_at, "
    "updated_at) VALUES (1, 'shopify', 'm.myshopify.com', 'installed', 'USD', 'UTC', "
    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)


def insert_shop(connection: Connection) -> None:
    """Shop 1, installed, as any revision's `shops` table holds it."""
    connection.execute(SHOP_ROW)


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with fresh_postgres_database("shopseg_mig") as url:
        yield url
