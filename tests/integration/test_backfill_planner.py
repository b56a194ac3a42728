"""A bulk import brings PostgreSQL's planner statistics up to date as it goes (it would
plan on the empty tables' figures); SQLite is left without statistics tables."""

from __future__ import annotations

from sqlalchemy import text

from plugin.backfill import planner
from tests.integration.test_backfill import add_shop, seeded
from tests.support.backfill import import_history

ANALYZED = ("backfill_orders", "orders", "order_lines", "purchases", "segment_memberships")


def test_a_bulk_import_analyzes_the_tables_it_filled(
    sim_runtime, simulator, session, monkeypatch
) -> None:
    monkeypatch.setattr(planner, "BULK", 1)  # the seeded shop counts as a bulk
    shop_id = add_shop(sim_runtime, simulator, seeded(simulator, "analyzed.myshopify.com"))
    import_history(sim_runtime, shop_id)

    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text("SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL")
        )
        assert set(ANALYZED) <= set(rows.scalars())
    else:
        tables = session.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
        assert "sqlite_stat1" not in set(tables.scalars())
