"""A sweep that writes a bulk of memberships refreshes their tables' planner statistics on
PostgreSQL: planned on the empty tables' statistics, the later batches of a first sweep
read every open stay of a segment per 1,000 customers (1,501 s cold sweep at 1M)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from plugin.runtime import Runtime
from plugin.segments import evaluator
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.settings import Settings
from plugin.worker import drain
from tests.integration.test_segment_eval_support import installed
from tests.integration.test_worker_generations import stream
from tests.support.inbox import deliver

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def _shop_with_customers(runtime: Runtime, settings: Settings, domain: str) -> int:
    shop_id = installed(runtime, settings, domain, NOW - timedelta(days=1))
    for topic, payload, event_id in stream():
        deliver(runtime, domain, payload, topic=topic, event_id=event_id, triggered_at=NOW)
    drain(runtime, now=NOW)
    return shop_id


def _estimated_rows(runtime: Runtime) -> float:
    with runtime.engine.connect() as conn:
        found = conn.execute(
            text("SELECT reltuples FROM pg_class WHERE relname = 'segment_memberships'")
        ).scalar_one()
    return float(found)


def test_a_bulk_sweep_analyzes_the_membership_tables(
    runtime: Runtime, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite plans without statistics; there is nothing to refresh")
    # Below the threshold nothing is analyzed (autovacuum waits for 50 changed rows).
    monkeypatch.setattr(evaluator, "ANALYZE_AFTER", 10**9)
    small = _shop_with_customers(runtime, settings, "small.myshopify.com")
    assert sweep_shop(runtime, small, NOW, full=True).entered > 0
    assert _estimated_rows(runtime) <= 0  # never analyzed (-1) or analyzed empty
    monkeypatch.setattr(evaluator, "ANALYZE_AFTER", 1)
    bulk = _shop_with_customers(runtime, settings, "bulk.myshopify.com")
    entered = sweep_shop(runtime, bulk, NOW, full=True).entered
    assert _estimated_rows(runtime) >= entered > 0
