"""The long fuzz run (`python -m benchmarks.fuzz`): 100,000 generated webhook deliveries
(the strategies of tests/webhooks/test_receiver_fuzz.py, signed and unsigned, every topic)
and 10,000 generated segment queries, on SQLite and PostgreSQL. Counts in docs/reliability.md.

Per delivery: answer < 500, a 4xx is `{error, detail}` and changes no table, a 2xx adds at
most one inbox row and nothing else. Every few hundred deliveries the worker drains and no
bad input may be waiting for a retry. Any log record of level ERROR or with an exception
attached counts as an unhandled exception.
"""

from __future__ import annotations

import argparse
import functools
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, literal, select, union_all

from benchmarks.databases import server_version, throwaway_database
from benchmarks.fuzz_queries import QueryFuzzResult, fuzz_queries
from benchmarks.ingest import app_runtime
from benchmarks.report import app_commit, benchmark_main, machine, update_document
from plugin.app import create_app
from plugin.db import Base, utcnow
from plugin.inbox.models import PENDING, InboxRow
from plugin.platforms.shopify.webhook_signature import webhook_hmac
from plugin.runtime import Runtime
from plugin.shops.models import INSTALLED, Shop
from plugin.worker import drain
from tests.webhooks.test_receiver_fuzz import HEADERS, SHOP, deliveries, header_values

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "reliability.md"
DRAIN_EVERY = 250

log = logging.getLogger("benchmarks.fuzz")


@dataclass
class DeliveryFuzzResult:
    deliveries: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: int = 0
    partial_writes: int = 0
    bad_error_bodies: int = 0
    retried_bad_input: int = 0
    dead: int = 0


class ErrorRecords(logging.Handler):
    """Counts records that mean an exception nobody handled (level ERROR or exc_info)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0
        self.examples: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.count += 1
            if len(self.examples) < 5:
                self.examples.append(f"{record.name}: {record.getMessage()[:200]}")


@dataclass(frozen=True)
class FuzzFigures:
    backend: str
    database: str
    deliveries: DeliveryFuzzResult
    queries: QueryFuzzResult
    unhandled: int
    unhandled_examples: list[str]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fuzz", description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return parser.parse_args(argv)


def run(args: argparse.Namespace, backends: list[str]) -> list[FuzzFigures]:
    return [run_backend(backend, args) for backend in backends]


def run_backend(backend: str, args: argparse.Namespace) -> FuzzFigures:
    errors = ErrorRecords()
    root = logging.getLogger()
    root.addHandler(errors)
    try:
        with throwaway_database(backend) as url, app_runtime(url) as runtime:
            with runtime.sessions.begin() as session:
                shop = Shop(domain=SHOP, install_state=INSTALLED, installed_at=utcnow())
                session.add(shop)
            shop_id = shop.id
            delivered = fuzz_deliveries(runtime, args.deliveries, args.seed)
            log.info(
                "%s: %d deliveries %s", backend, delivered.deliveries, dict(delivered.statuses)
            )
            queried = fuzz_queries(
                runtime.sessions, runtime.engine, shop_id, args.queries, args.seed
            )
            log.info("%s: %d queries %s", backend, queried.queries, dict(queried.outcomes))
            database = server_version(runtime.engine)
    finally:
        root.removeHandler(errors)
    return FuzzFigures(backend, database, delivered, queried, errors.count, errors.examples)


def fuzz_deliveries(runtime: Runtime, count: int, seed: int) -> DeliveryFuzzResult:
    client = create_app(runtime).test_client()
    secret = runtime.settings.shopify_api_secret
    result = DeliveryFuzzResult()

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        delivery=deliveries,
        signed=st.booleans(),
        overrides=st.dictionaries(st.sampled_from(HEADERS), header_values, max_size=3),
    )
    def one(delivery: tuple[str, bytes], signed: bool, overrides: dict[str, str | None]) -> None:
        _post_one(client, runtime, result, delivery, secret if signed else "wrong", overrides)
        if result.deliveries % DRAIN_EVERY == 0:
            _drain_and_check(runtime, result)

    one._hypothesis_internal_use_seed = seed  # type: ignore[attr-defined]
    one()
    _drain_and_check(runtime, result)
    return result


def _post_one(
    client: Any,
    runtime: Runtime,
    result: DeliveryFuzzResult,
    delivery: tuple[str, bytes],
    secret: str,
    overrides: dict[str, str | None],
) -> None:
    topic, body = delivery
    headers: dict[str, str | None] = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Hmac-Sha256": webhook_hmac(secret, body),
        "X-Shopify-Webhook-Id": f"fuzz-{result.deliveries}",
        "X-Shopify-Event-Id": f"fuzz-event-{result.deliveries}",
        "X-Shopify-API-Version": runtime.settings.shopify_api_version,
        "X-Shopify-Triggered-At": utcnow().isoformat(),
        **overrides,
    }
    before = _row_counts(runtime)
    response = client.post(
        "/webhooks/shopify", data=body, headers={k: v for k, v in headers.items() if v is not None}
    )
    after = _row_counts(runtime)
    result.deliveries += 1
    result.statuses[response.status_code] += 1
    if response.status_code >= 500:
        result.server_errors += 1
    elif response.status_code >= 400:
        if set(response.get_json(silent=True) or {}) != {"error", "detail"}:
            result.bad_error_bodies += 1
        if after != before:
            result.partial_writes += 1
    else:
        grown = {k for k in after if after[k] != before[k]}
        if not grown <= {"webhook_inbox"} or after["webhook_inbox"] - before["webhook_inbox"] > 1:
            result.partial_writes += 1


@functools.cache
def _row_count_statement() -> Any:
    """One statement counting every table, built once: building it cost more than running it."""
    return union_all(
        *(
            select(literal(t.name).label("t"), func.count().label("n")).select_from(t)
            for t in Base.metadata.sorted_tables
        )
    )


def _row_counts(runtime: Runtime) -> dict[str, int]:
    """Rows per table, in one statement."""
    with runtime.engine.connect() as conn:
        return {name: int(n) for name, n in conn.execute(_row_count_statement())}


def _drain_and_check(runtime: Runtime, result: DeliveryFuzzResult) -> None:
    drain(runtime)
    with runtime.engine.connect() as conn:
        waiting = conn.scalar(
            select(func.count()).where(InboxRow.status == PENDING, InboxRow.attempts > 0)
        )
        result.dead = int(conn.scalar(select(func.count()).where(InboxRow.status == "dead")) or 0)
    result.retried_bad_input = max(result.retried_bad_input, int(waiting or 0))


def write_report(results: list[FuzzFigures], out: Path, command: str) -> str:
    date = datetime.now(UTC).strftime("%Y-%m-%d")
    lines = [
        "### Fuzzing: webhook deliveries and segment queries",
        "",
        f"`{command}` — {date}, app {app_commit()}, {machine([r.database for r in results])}.",
        "",
        "| backend | deliveries | answers by status | ≥ 500 | partial writes | 4xx without "
        "`{error, detail}` | bad input retried | parked dead | queries | query outcomes "
        "| literals inlined / escapes | unhandled exceptions logged |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        d, q = r.deliveries, r.queries
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(d.statuses.items()))
        outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(q.outcomes.items()))
        lines.append(
            f"| {r.backend} | {d.deliveries} | {statuses} | {d.server_errors} | "
            f"{d.partial_writes} | {d.bad_error_bodies} | {d.retried_bad_input} | {d.dead} | "
            f"{q.queries} | {outcomes} | {len(q.failures)} | {r.unhandled} |"
        )
    for r in results:
        for example in [*r.queries.failures[:5], *r.unhandled_examples]:
            lines.append(f"\n- {r.backend}: {' '.join(example.split())[:300]}")
    section = "\n".join(lines) + "\n"
    update_document(out, "fuzz", section)
    return section


def failed(r: FuzzFigures) -> bool:
    d = r.deliveries
    return bool(
        d.server_errors or d.partial_writes or d.bad_error_bodies or d.retried_bad_input
        or r.queries.failures or r.unhandled
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 1 when any property failed (the counts are written all the same)."""
    results: list[FuzzFigures] = []

    def run_and_keep(args: argparse.Namespace, backends: list[str]) -> list[FuzzFigures]:
        results.extend(run(args, backends))
        return results

    code = benchmark_main("benchmarks.fuzz", argv, parse_args, run_and_keep, write_report)
    return 1 if code == 0 and any(map(failed, results)) else code


if __name__ == "__main__":
    raise SystemExit(main())
