"""The worker side: timed drains of the stored inbox, the adapter-only baseline, checks."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, inspect, select, update

import plugin.models  # noqa: F401  (every table, for the reset)
from benchmarks.databases import vacuum_analyze
from benchmarks.errors import BenchmarkError
from plugin.db import Base
from plugin.events import Delivery, OrderUpserted
from plugin.inbox.models import DONE, PENDING, InboxRow
from plugin.profiles.models import Customer, Order
from plugin.runtime import Runtime
from plugin.worker import STAGES, adapter_for, drain

# What a reset keeps: the installed shop, its settings, its segments (settled by a sweep,
# so real time evaluates them) and the stored deliveries.
KEPT_TABLES = frozenset({"shops", "shop_settings", "segments", "webhook_inbox"})


@dataclass(frozen=True)
class Expected:
    """What the deliveries sent add up to, for the checks."""

    shop_domain: str
    orders: int
    customers: int
    spent_minor: int
    webhook_ids: frozenset[str]


@dataclass(frozen=True)
class WorkResult:
    label: str
    rows: int
    customers: int
    seconds: float
    # Per worker stage: (wall seconds, CPU seconds of the worker threads), summed.
    stages: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds

    @property
    def customers_per_second(self) -> float:
        return self.customers / self.seconds

    @property
    def ms_per_row(self) -> float:
        return self.seconds * 1000 / self.rows


def adapter_only(runtime: Runtime, expected: Expected) -> WorkResult:
    """The stored rows through JSON parsing and the Shopify adapter only: what mapping
    payloads to events costs, without claiming, locking or writing anything."""
    with runtime.sessions() as session:
        rows = session.scalars(
            select(InboxRow).where(InboxRow.shop_domain == expected.shop_domain)
        ).all()
    started = time.perf_counter()
    events = [
        event
        for row in rows
        for event in adapter_for(row.platform).events_from_delivery(
            Delivery(row.id, row.topic, row.webhook_id, row.event_id, row.triggered_at),
            row.api_version,
            json.loads(row.payload or "null"),
        )
    ]
    seconds = time.perf_counter() - started
    orders = [e.order for e in events if isinstance(e, OrderUpserted)]
    spent = sum(o.total_minor for o in orders)
    customers = {o.customer.platform_id for o in orders if o.customer}
    _expect("adapter events", (len(events), len(orders)), (expected.orders, expected.orders))
    _expect("adapter total", spent, expected.spent_minor)
    _expect("adapter customers", len(customers), expected.customers)
    return WorkResult("adapter only", len(rows), len(customers), seconds)


def timed_drain(runtime: Runtime, expected: Expected, workers: int, timeout: float) -> WorkResult:
    """Reset the store, then drain the inbox with `workers` threads and check the result."""
    reset_processing(runtime.engine, expected.shop_domain)
    vacuum_analyze(runtime.engine)
    settled = [0] * workers

    def work(index: int) -> None:
        settled[index] = drain(runtime)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(workers)]
    STAGES.reset()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, started + timeout - time.perf_counter()))
    seconds = time.perf_counter() - started
    if any(thread.is_alive() for thread in threads):
        raise BenchmarkError(f"drain with {workers} worker(s) did not finish in {timeout:.0f} s")
    _expect(f"rows settled by {workers} worker(s)", sum(settled), expected.orders)
    check_processed(runtime, expected)
    label = f"drain, {workers} worker{'s' if workers > 1 else ''}"
    stages = {name: (STAGES.wall[name], STAGES.cpu[name]) for name in STAGES.wall}
    return WorkResult(label, expected.orders, expected.customers, seconds, stages)


def reset_processing(engine: Engine, shop_domain: str) -> None:
    """Empty the profile store and make every stored delivery of the shop due again."""
    with engine.begin() as conn:
        # Only tables the migrations created: the models may be ahead of them mid-change.
        present = set(inspect(conn).get_table_names())
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in present and table.name not in KEPT_TABLES:
                conn.execute(table.delete())
        conn.execute(
            update(InboxRow)
            .where(InboxRow.shop_domain == shop_domain)
            .values(
                status=PENDING,
                attempts=0,
                next_attempt_at=None,
                last_error=None,
                subject_ids=None,
                processed_at=None,
            )
        )


def check_stored(runtime: Runtime, expected: Expected) -> None:
    """Every delivery is in the inbox exactly once and waits for the worker."""
    with runtime.sessions() as session:
        rows = session.execute(
            select(InboxRow.webhook_id, InboxRow.status).where(
                InboxRow.shop_domain == expected.shop_domain
            )
        ).all()
    _expect("inbox rows", len(rows), expected.orders)
    _expect("stored webhook ids", frozenset(r.webhook_id for r in rows), expected.webhook_ids)
    _expect("inbox statuses", dict(Counter(r.status for r in rows)), {PENDING: expected.orders})


def check_processed(runtime: Runtime, expected: Expected) -> None:
    """Every row done; customers and their total spent add up to what was sent."""
    with runtime.sessions() as session:
        counted = session.execute(
            select(InboxRow.status, func.count())
            .where(InboxRow.shop_domain == expected.shop_domain)
            .group_by(InboxRow.status)
        )
        statuses = {status: int(n) for status, n in counted}
        if statuses != {DONE: expected.orders}:
            errors = session.scalars(
                select(InboxRow.last_error).where(InboxRow.last_error.is_not(None)).limit(3)
            )
            first_lines = [e.splitlines()[0][:300] for e in errors if e]
            raise BenchmarkError(f"inbox statuses {statuses}; first errors: {first_lines}")
        customers, spent = session.execute(
            select(func.count(), func.coalesce(func.sum(Customer.total_spent_minor), 0))
        ).one()
        orders = session.scalar(select(func.count()).select_from(Order))
    _expect("customers", customers, expected.customers)
    _expect("sum of total_spent_minor", int(spent), expected.spent_minor)
    _expect("orders", orders, expected.orders)


def _expect(what: str, actual: object, wanted: object) -> None:
    if actual != wanted:
        shown = (
            f"{len(actual)} ids vs {len(wanted)}"  # type: ignore[arg-type]
            if isinstance(actual, frozenset) and isinstance(wanted, frozenset)
            else f"{actual!r}, expected {wanted!r}"
        )
        raise BenchmarkError(f"wrong {what}: {shown}")
