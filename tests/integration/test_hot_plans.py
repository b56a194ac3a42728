"""The worker's hot statements never read a large table from end to end.

Every statement the worker runs for a realistic batch (orders, customers, checkouts,
refunds, a duplicate, guest orders linked by email) is captured with its parameters and
explained: on SQLite `EXPLAIN QUERY PLAN` must not `SCAN` a large table nor search one
by `shop_id` alone (the whole shop), on PostgreSQL
`EXPLAIN` with sequential scans discouraged (`enable_seqscan = off`, so a tiny test table
cannot hide a missing index) must show no `Seq Scan` on one. One `IN (SELECT …)` planned
as a scan cut a prototype from 4,500 to 930 events/s; this is the guard against the next.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from plugin.profiles.shop_settings import LINK_GUEST_ORDERS_BY_EMAIL, set_setting
from plugin.runtime import Runtime
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.settings import Settings
from plugin.worker import process_batch
from tests.integration.test_segment_eval_support import installed
from tests.integration.test_worker_generations import stream
from tests.support.inbox import deliver

DOMAIN = "plans.myshopify.com"
NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
# Tables that grow with a shop's customers, orders or deliveries.
LARGE = (
    "customers", "customer_addresses", "customer_tags", "orders", "order_lines", "refunds",
    "checkouts", "purchases", "tombstones", "segment_state", "segment_memberships",
    "segment_events", "webhook_inbox", "outbox", "trigger_firings", "checkout_journeys",
    "predictions", "customer_metafields",
)  # fmt: skip
NOTHING = re.compile(r"WHERE 0 = 1|WHERE 1 != 1")
# SQLite searching an index by `shop_id` alone reads every row of the shop: it does so
# for a few customers' rows when their own index is not led by the shop (no statistics
# tell it a shop is large), unless `plugin.db.Unindexed` takes the shop out of the race.
WHOLE_SHOP = re.compile(r"\bSEARCH (\w+) USING (?:COVERING )?INDEX \w+ \(shop_id=\?\)")
DML = re.compile(r"^\s*(SELECT|UPDATE|DELETE|INSERT INTO \S+ \(.*\) SELECT|WITH)\b", re.I | re.S)


def captured(engine: Engine, work: Any) -> list[tuple[str, Any]]:
    """(SQL, parameters) of every single-row-parameter statement `work()` executes."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> None:
        many = rest[-1]
        # A constant-false WHERE (an empty IN list) reads nothing whatever its plan says.
        if not many and DML.match(statement) and not NOTHING.search(statement):
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def full_scans(engine: Engine, statements: list[tuple[str, Any]]) -> list[str]:
    """The statements whose plan reads a large table from end to end, with the plan."""
    found = []
    with engine.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        if postgres:
            conn.exec_driver_sql("SET enable_seqscan = off")
        for sql, params in statements:
            prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            rows = conn.exec_driver_sql(prefix + sql, params).all()
            plan = "\n".join(str(row[-1]) for row in rows)
            pattern = r"Seq Scan on (\w+)" if postgres else r"\bSCAN (\w+)(?! USING)"
            tables = {t for t in re.findall(pattern, plan) if t in LARGE}
            if not postgres:
                tables |= {t for t in WHOLE_SHOP.findall(plan) if t in LARGE}
            if tables:
                found.append(f"{sorted(tables)}\n{sql[:600]}\n{plan}")
    return found


def test_the_worker_reads_large_tables_only_through_indexes(
    runtime: Runtime, settings: Settings
) -> None:
    shop_id = installed(runtime, settings, DOMAIN, NOW - timedelta(days=1))
    with runtime.sessions.begin() as session:
        set_setting(session, shop_id, LINK_GUEST_ORDERS_BY_EMAIL, True)
    deliveries = stream()
    half = len(deliveries) // 2
    for topic, payload, event_id in deliveries[:half]:
        deliver(runtime, DOMAIN, payload, topic=topic, event_id=event_id, triggered_at=NOW)
    process_batch(runtime, limit=500, now=NOW)
    sweep_shop(runtime, shop_id, NOW)  # settled built-ins: real time evaluates them all

    def second_half() -> None:
        for topic, payload, event_id in deliveries[half:]:
            deliver(runtime, DOMAIN, payload, topic=topic, event_id=event_id, triggered_at=NOW)
        process_batch(runtime, limit=500, now=NOW)

    statements = captured(runtime.engine, second_half)
    assert len(statements) > 20  # the whole pipeline ran
    problems = full_scans(runtime.engine, statements)
    assert not problems, "\n\n".join(problems)


def test_the_guard_sees_a_full_scan(runtime: Runtime, settings: Settings) -> None:
    """A lookup by a column no index leads with is caught on either database, and on
    SQLite a few customers' rows read through the shop's index."""
    installed(runtime, settings, DOMAIN, NOW)
    unindexed = "SELECT id FROM orders WHERE financial_status = 'paid'"
    indexed = "SELECT id FROM orders WHERE shop_id = 1 AND platform_id = '7'"
    problems = full_scans(runtime.engine, [(unindexed, {}), (indexed, {})])
    assert len(problems) == 1 and "financial_status" in problems[0]
    if runtime.engine.dialect.name == "sqlite":
        shop_wide = "SELECT id FROM customer_addresses WHERE shop_id = 1 AND +customer_id = 7"
        by_customer = "SELECT id FROM customer_addresses WHERE +shop_id = 1 AND customer_id = 7"
        problems = full_scans(runtime.engine, [(shop_wide, {}), (by_customer, {})])
        assert len(problems) == 1 and "+customer_id" in problems[0]
