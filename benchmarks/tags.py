"""Benchmark of tag sync over real HTTP at Shopify's standard rate: one call per customer
against one bulk mutation, each against the theoretical minimum the rate limit allows."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.databases import BACKENDS, server_version, throwaway_database
from benchmarks.errors import BenchmarkError
from benchmarks.report import app_commit, benchmark_main, load_average
from benchmarks.tags_report import write_report
from benchmarks.tags_shop import (
    SHOP,
    CostMeter,
    Watch,
    add_customers,
    app_runtime,
    check_shop,
    drain,
    install,
    learn_tag,
    merchant_tags,
    outbox_states,
    simulated_shop,
    wait_for_full_bucket,
)
from plugin.db import utcnow
from plugin.outbox.models import BULK_TAGS, DONE, TAGS
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.runtime import Runtime
from plugin.segments.evaluator_realtime import evaluate_customers
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.segments.services import create_segment
from plugin.tagsync.drift import repair_drift
from plugin.tagsync.tags import bulk_threshold, effective_tag, tag_prefix

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
REALTIME_BATCH = 100  # customers per real-time change set, as a worker batch touches them
DRAIN_TIMEOUT = 3600.0
WHOLESALE = ("Wholesale", "customer_tags CONTAINS 'wholesale'")
EVERYONE = ("Everyone", "number_of_orders = 0")

log = logging.getLogger("benchmarks.tags")


@dataclass(frozen=True)
class Limits:
    bucket_size: float = 2000.0  # Shopify's standard bucket and restore rate
    restore_rate: float = 100.0
    bulk_threshold: int = 500  # the app's default

    def minimum_seconds(self, points: float) -> float:
        """The least time the leaky bucket allows for `points`, starting full."""
        return max(0.0, points - self.bucket_size) / self.restore_rate


@dataclass
class PathResult:
    """One path's numbers: the changes it carried, the calls and time they took."""

    changes: int
    calls: int
    points: int
    throttled: int
    seconds: float  # from the first delivery round until nothing was owed
    landed: float  # until every change was in the simulated shop
    queue_seconds: float  # evaluating and writing the outbox rows (before the clock starts)
    documents: dict[str, tuple[int, int]] = field(default_factory=dict)
    paced_seconds: float = 0.0  # the pacer slept waiting for points
    bulk_seconds: float = 0.0  # the simulator ran bulk operations
    uploads: int = 0  # staged file uploads (not API calls)

    def per_thousand(self, value: float) -> float:
        return value * 1000 / self.changes


@dataclass
class BackendResult:
    backend: str
    limits: Limits
    customers: int
    realtime: PathResult | None = None
    bulk: PathResult | None = None
    database: str = ""
    commit: str = "unknown"
    load: tuple[float, float] = (0.0, 0.0)


def run_backend(backend: str, changes: int, per_customer: int, limits: Limits) -> BackendResult:
    """Both paths on one shop, in a throwaway database and a fresh simulator."""
    result = BackendResult(backend, limits, changes, commit=app_commit())
    result.load = (load_average(), 0.0)
    with (
        simulated_shop(limits.bucket_size, limits.restore_rate) as simulator,
        throwaway_database(backend) as url,
        app_runtime(url, simulator) as runtime,
    ):
        shop_id = install(runtime, simulator, limits.bulk_threshold)
        ids = add_customers(runtime, simulator, shop_id, changes, per_customer)
        wholesale_tag = add_segment(runtime, shop_id, *WHOLESALE)
        result.realtime = one_call_per_customer(runtime, simulator, shop_id, ids, per_customer)
        log.info(
            "%s: %d changes one by one in %.1f s", backend, per_customer, result.realtime.seconds
        )
        everyone_tag = add_segment(runtime, shop_id, *EVERYONE, sweep=False)
        result.bulk = one_sweep(runtime, simulator, shop_id, changes, per_customer)
        log.info("%s: %d changes in one sweep in %.1f s", backend, changes, result.bulk.seconds)
        check(runtime, simulator, shop_id, result, wholesale_tag, everyone_tag)
        result.database = server_version(runtime.engine)
    result.load = (result.load[0], load_average())
    return result


def add_segment(runtime: Runtime, shop_id: int, name: str, query: str, sweep: bool = True) -> str:
    """A merchant segment; with `sweep`, settled now (no member yet). Returns its tag."""
    now = utcnow()
    with runtime.sessions.begin() as session:
        segment = create_segment(session, shop_id, name, query, now=now)
        tag = effective_tag(tag_prefix(session, shop_id), segment.slug, segment.tag)
    if sweep:
        sweep_shop(runtime, shop_id, now)
    return tag


def one_call_per_customer(
    runtime: Runtime, simulator: SimulatorHandle, shop_id: int, ids: dict[str, int], count: int
) -> PathResult:
    """The first `count` customers enter Wholesale in real time, in change sets under the
    bulk threshold (one tag row each); then the outbox is drained."""
    start = time.perf_counter()
    batch = min(REALTIME_BATCH, _threshold(runtime, shop_id))
    chosen = [ids[str(n)] for n in range(1, count + 1)]
    for i in range(0, count, batch):
        learn_tag(runtime, shop_id, chosen[i : i + batch], "wholesale")
        with runtime.sessions.begin() as session:
            evaluate_customers(session, shop_id, chosen[i : i + batch], utcnow())
    queued = time.perf_counter() - start
    if outbox_states(runtime, shop_id)[(TAGS, "pending")] != count:
        raise BenchmarkError(f"{count} real-time entries did not queue {count} tag rows")
    return _measure(runtime, simulator, count, queued)


def one_sweep(
    runtime: Runtime, simulator: SimulatorHandle, shop_id: int, count: int, before: int
) -> PathResult:
    """Every customer enters Everyone in its first sweep (one change set, a bulk row)."""
    start = time.perf_counter()
    sweep_shop(runtime, shop_id, utcnow())
    queued = time.perf_counter() - start
    if outbox_states(runtime, shop_id)[(BULK_TAGS, "pending")] != 1:
        raise BenchmarkError(f"{count} customers entering a segment did not queue one bulk row")
    return _measure(runtime, simulator, count, queued, logged_before=before)


def _threshold(runtime: Runtime, shop_id: int) -> int:
    with runtime.sessions() as session:
        return bulk_threshold(session, shop_id)


def _measure(
    runtime: Runtime,
    simulator: SimulatorHandle,
    changes: int,
    queued: float,
    logged_before: int = 0,
) -> PathResult:
    """Drain the outbox from a full bucket: calls and points as the app saw them, checked
    against what the simulator recorded."""
    wait_for_full_bucket(simulator)
    state, meter = simulator.state, CostMeter()
    first_request, throttled = len(state.requests), state.throttled_count[SHOP]
    with Watch(simulator, logged_before + changes) as watch:
        seconds = drain(runtime, meter, DRAIN_TIMEOUT)
    recorded = state.requests[first_request:]
    graphql = [r for r in recorded if r.kind == "graphql" and r.shop == SHOP]
    if len(graphql) != len(meter.calls):
        raise BenchmarkError(f"the simulator saw {len(graphql)} calls, the app {len(meter.calls)}")
    return PathResult(
        changes=changes,
        calls=len(graphql),
        points=meter.points,
        throttled=state.throttled_count[SHOP] - throttled,
        seconds=seconds,
        landed=watch.landed if watch.landed is not None else seconds,
        queue_seconds=queued,
        documents=meter.by_document(),
        paced_seconds=meter.waited,
        bulk_seconds=watch.bulk_seconds(),
        uploads=len([r for r in recorded if r.kind == "staged_upload"]),
    )


def check(
    runtime: Runtime,
    simulator: SimulatorHandle,
    shop_id: int,
    result: BackendResult,
    wholesale_tag: str,
    everyone_tag: str,
) -> None:
    """The shop ends exactly as planned; every outbox row is done, one bulk row among them."""
    first = result.realtime.changes if result.realtime else 0
    expected = {
        str(n): [
            *merchant_tags(n, n <= first),
            *([wholesale_tag] if n <= first else []),
            everyone_tag,
        ]
        for n in range(1, result.customers + 1)
    }
    changes = {(SHOP, str(n), "add", wholesale_tag) for n in range(1, first + 1)}
    changes |= {(SHOP, str(n), "add", everyone_tag) for n in range(1, result.customers + 1)}
    check_shop(simulator, expected, changes)
    states = outbox_states(runtime, shop_id)
    not_done = {k: n for k, n in states.items() if k[1] != DONE}
    if not_done or states[(BULK_TAGS, DONE)] != 1 or states[(TAGS, DONE)] != first:
        raise BenchmarkError(f"outbox rows by (kind, state): {dict(states)}")
    with runtime.sessions.begin() as session:  # the app's record of the shop agrees too
        drifted = repair_drift(session, shop_id, utcnow())
    if drifted:
        raise BenchmarkError(f"drift repair finds {drifted} customers to fix after the run")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tags", description=__doc__)
    parser.add_argument(
        "--changes", type=int, default=10_000, help="customers entering in one sweep"
    )
    parser.add_argument(
        "--per-customer", type=int, default=1_000, help="changes delivered one call per customer"
    )
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="sqlite")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Markdown file updated")
    defaults = Limits()
    parser.add_argument("--bucket-size", type=float, default=defaults.bucket_size)
    parser.add_argument(
        "--restore-rate", type=float, default=defaults.restore_rate, help="points/s"
    )
    parser.add_argument("--bulk-threshold", type=int, default=defaults.bulk_threshold)
    args = parser.parse_args(argv)
    if not 1 <= args.per_customer <= args.changes:
        parser.error("--per-customer must be between 1 and --changes")
    if args.changes <= args.bulk_threshold:
        parser.error("--changes must exceed --bulk-threshold (the sweep must go in bulk)")
    if args.bucket_size <= 0 or args.restore_rate <= 0 or args.bulk_threshold < 1:
        parser.error("the bucket, restore rate and bulk threshold must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    def run(args: argparse.Namespace, backends: list[str]) -> list[BackendResult]:
        limits = Limits(args.bucket_size, args.restore_rate, args.bulk_threshold)
        return [run_backend(b, args.changes, args.per_customer, limits) for b in backends]

    return benchmark_main("benchmarks.tags", argv, parse_args, run, write_report)


if __name__ == "__main__":
    sys.exit(main())
