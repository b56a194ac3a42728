"""The segment language under fuzzing (short run; `python -m benchmarks.fuzz` runs the long
one): random, mutated and injection-laden queries through the preview on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.fuzz_queries import QueryGenerator, captured_statements, fuzz_queries
from plugin.profiles.models import Customer
from plugin.segments.errors import QueryError
from plugin.segments.preview import preview_query
from plugin.shops.models import Shop
from tests.integration.test_segment_compiler_store import build_store


def test_generated_queries_answer_or_are_refused_and_never_inline_a_literal(
    session: Session, session_factory: sessionmaker[Session], engine: Engine, settings: Any
) -> None:
    shop_id = build_store(session, settings).id
    customers = session.query(Customer).filter_by(shop_id=shop_id).count()
    session.close()  # SQLite transactions take the write lock: free it for the fuzz
    result = fuzz_queries(session_factory, engine, shop_id, count=200, seed=20261204)
    assert result.failures == []
    assert result.queries == 200
    # The generator reaches both sides: queries that run and queries that are refused.
    assert result.outcomes["answered"] > 20 and result.outcomes["refused (QueryError)"] > 30
    assert session.query(Customer).filter_by(shop_id=shop_id).count() == customers
    assert session.query(Shop).count() == 1


def test_the_literal_check_would_see_an_inlined_literal(engine: Engine) -> None:
    """Guard of the guard: a statement that inlines a marker is caught by the capture."""
    import random

    marker = QueryGenerator(random.Random(1)).marker()
    with captured_statements(engine) as statements, engine.connect() as conn:
        conn.exec_driver_sql("SELECT '" + marker[:12] + "'")
    assert any(marker[:12] in s for s in statements)


def test_a_nul_in_a_literal_is_refused_by_the_language_not_the_database(
    session: Session, settings: Any
) -> None:
    """Found by the long fuzz run: PostgreSQL refused the NUL with a DataError (a 500)."""
    shop_id = build_store(session, settings).id
    with pytest.raises(QueryError, match="NUL") as refused:
        preview_query(session, shop_id, "customer_language = 'pl\x00'", datetime.now(UTC))
    assert (refused.value.line, refused.value.column) == (1, 24)
