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

from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from plugin.profiles.models import Customer
from plugin.profiles.shop_settings import LINK_GUEST_ORDERS_BY_EMAIL, set_setting
from plugin.runtime import Runtime
from plugin.segments.evaluator_realtime import evaluate_customers
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.segments.services import create_segment
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
# SQLite searching an index only by columns that many rows share (the shop, a state, a
# segment) reads the whole shop or a large part of it: it does so for a few customers'
# rows when their own index ties with a broad one (no statistics tell it a shop is
# large; ties fall to the order the indexes were created in), unless
# `plugin.db.Unindexed` takes the broad columns out of the race.
SEARCH = re.compile(r"\bSEARCH (\w+) USING (?:COVERING )?INDEX (\w+) \(([^)]*)\)")
BROAD = frozenset(
    {"shop_id", "shop_domain", "platform", "status", "state", "topic", "segment_id",
     "exited_at", "word", "kind", "country_code", "region_key", "city_key", "tag_cf",
     "namespace", "key", "product_type_cf", "vendor_cf"}
)  # fmt: skip
# The queue itself: pending deliveries are the rows the worker is there to read.
QUEUE = "ix_webhook_inbox_status_next"
# Erasure searches the text of every delivery of the shop it still holds: a payload may
# name the person anywhere, and no index has what a payload mentions.
MENTIONS = "SELECT webhook_inbox.id, webhook_inbox.payload, webhook_inbox.subject_ids"
# Deleting a customer (erasure, a completed merge) makes SQLite look for rows still keyed
# to it in every table with a key to customers: those whose customer index leads with the
# shop (orders, checkouts, purchases, predictions, segment state) are read whole. Rare
# enough to leave; an index leading with the customer on each would tax every write.
CUSTOMER_DELETE = "DELETE FROM customers "
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
            if sql.startswith(CUSTOMER_DELETE):
                continue
            prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            rows = conn.exec_driver_sql(prefix + sql, params).all()
            plan = "\n".join(str(row[-1]) for row in rows)
            pattern = r"Seq Scan on (\w+)" if postgres else r"\bSCAN (\w+)"
            tables = {t for t in re.findall(pattern, plan) if t in LARGE}
            if not postgres and not sql.startswith(MENTIONS):
                tables |= broad_searches(plan)
            if tables:
                found.append(f"{sorted(tables)}\n{sql[:600]}\n{plan}")
    return found


def broad_searches(plan: str) -> set[str]:
    """Large tables an SQLite plan searches only by broad columns."""
    found = set()
    for table, index, constraint in SEARCH.findall(plan):
        columns = set(re.findall(r"(\w+)\s*(?:=|>|<|IS)", constraint))
        if table in LARGE and index != QUEUE and columns <= BROAD:
            found.add(table)
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


# A rule of every kind that reads rows other than the customer's own profile row.
RULES = {
    "coffee": "products_purchased MATCHES (product_type = 'Coffee', date >= -90d)",
    "vendor": "products_purchased MATCHES (vendor = 'Acme', count >= 2)",
    "orders": "orders_placed MATCHES (amount >= 10, date >= -180d, count >= 2)",
    "checkouts": "abandoned_checkouts MATCHES (date >= -30d)",
    "tags": "customer_tags CONTAINS 'vip' AND customer_tags NOT CONTAINS 'x'",
    "places": "customer_countries CONTAINS 'PL' OR customer_cities CONTAINS 'Warsaw'",
    "companies": "companies IS NOT NULL",
    "metafield": "metafields.custom.tier = 'gold'",
    "credit": "store_credit_accounts MATCHES (next_expiry_date <= +30d)",
}


def test_real_time_reads_only_its_customers_rows(runtime: Runtime, settings: Settings) -> None:
    """Several customers evaluated at once (a worker generation, an incremental sweep's
    chunk) against rules over purchases, orders, checkouts, tags, addresses, companies,
    metafields and store credit: each customer's rows through its own index (as
    `IN (SELECT …)` SQLite read a whole shop's purchases per statement)."""
    shop_id = installed(runtime, settings, DOMAIN, NOW - timedelta(days=1))
    for topic, payload, event_id in stream():
        deliver(runtime, DOMAIN, payload, topic=topic, event_id=event_id, triggered_at=NOW)
    process_batch(runtime, limit=500, now=NOW)
    with runtime.sessions.begin() as session:
        for name, query in RULES.items():
            create_segment(session, shop_id, name, query, now=NOW)
    sweep_shop(runtime, shop_id, NOW)
    with runtime.sessions() as session:
        ids = list(session.scalars(select(Customer.id).where(Customer.shop_id == shop_id)))
    assert len(ids) > 3

    def evaluate() -> None:  # half a year on: customers become inactive (reactivation)
        with runtime.sessions.begin() as session:
            evaluate_customers(session, shop_id, ids, NOW + timedelta(days=200))

    statements = captured(runtime.engine, evaluate)
    assert any("purchases" in sql and "EXISTS" in sql for sql, _ in statements)
    stays = "SELECT segment_memberships.customer_id, segment_memberships.id"
    assert any(sql.startswith(stays) for sql, _ in statements)  # reactivation looked
    problems = full_scans(runtime.engine, statements)
    assert not problems, "\n\n".join(problems)


def test_the_guard_sees_a_full_scan(runtime: Runtime, settings: Settings) -> None:
    """A lookup by a column no index leads with is caught on either database, and on
    SQLite a few customers' rows read through the shop's index or a segment's members."""
    installed(runtime, settings, DOMAIN, NOW)
    unindexed = "SELECT id FROM orders WHERE financial_status = 'paid'"
    indexed = "SELECT id FROM orders WHERE shop_id = 1 AND platform_id = '7'"
    problems = full_scans(runtime.engine, [(unindexed, {}), (indexed, {})])
    assert len(problems) == 1 and "financial_status" in problems[0]
    if runtime.engine.dialect.name == "sqlite":
        shop_wide = "SELECT id FROM customer_addresses WHERE shop_id = 1 AND +customer_id = 7"
        by_customer = "SELECT id FROM customer_addresses WHERE +shop_id = 1 AND customer_id = 7"
        open_stays = (
            "SELECT id FROM segment_memberships WHERE shop_id = 1 AND segment_id = 2"
            " AND exited_at IS NULL AND +customer_id = 7"
        )
        plans = [(shop_wide, {}), (by_customer, {}), (open_stays, {})]
        problems = full_scans(runtime.engine, plans)
        assert len(problems) == 2
        assert "+customer_id = 7" in problems[0] and "segment_memberships" in problems[1]
