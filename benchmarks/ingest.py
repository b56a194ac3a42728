"""Benchmark of the webhook receiver and the worker on CDNOW orders, with baselines; and the
receiver under gunicorn against a bare HMAC-verifying endpoint (`benchmarks.receiver`)."""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import receiver as gunicorn_receiver
from benchmarks.cdnow import (
    CDNOW_FILE,
    PROJECT,
    SignedDelivery,
    Transaction,
    read_transactions,
    sign,
    signed_deliveries,
)
from benchmarks.databases import BACKENDS, server_version, throwaway_database
from benchmarks.errors import BenchmarkError
from benchmarks.report import (
    BackendResult,
    app_commit,
    benchmark_main,
    load_average,
    machine,
    render,
    update_document,
)
from benchmarks.serving import Client, LoadResult, http_floor, quiet, serve
from benchmarks.work import (
    Expected,
    adapter_only,
    check_stored,
    timed_drain,
)
from plugin.app import create_app
from plugin.db import utcnow
from plugin.migrate import upgrade_head
from plugin.runtime import Runtime, build_runtime
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.settings import Settings
from plugin.shops.services import install_shop as install
from plugin.shops.tokens import Credentials

SHOP = "cdnow-bench.myshopify.com"
WEBHOOK_PATH = "/webhooks/shopify"
DEFAULT_ORDERS = 5000
DEFAULT_CLIENTS = 4
DEFAULT_OUT = PROJECT / "docs" / "benchmarks.md"
# Enough requests to open every keep-alive connection and the app's database pool.
WARMUP_REQUESTS = 40
WORKERS = {"sqlite": (1,), "postgresql": (1, 2)}

log = logging.getLogger("benchmarks.ingest")


@dataclass(frozen=True)
class IngestResult:
    """One backend: the werkzeug receiver and the worker, then the gunicorn receiver step."""

    backend: BackendResult
    gunicorn: list[gunicorn_receiver.ReceiverLoad]


def run_gunicorn_receiver(backend: str, requests: int) -> list[gunicorn_receiver.ReceiverLoad]:
    """The receiver under gunicorn, in a throwaway database of its own (its deliveries are
    not the worker's CDNOW orders)."""
    if requests < 1:
        return []
    with throwaway_database(backend) as url, app_runtime(url) as runtime:
        loads = gunicorn_receiver.measure(runtime, requests)
    for load in loads:
        log.info(
            "%s: gunicorn, %d-byte bodies: receiver %.0f req/s, bare %.0f req/s (%.0f%%)",
            backend, load.body_bytes, load.receiver.rate, load.bare.rate, 100 * load.share,
        )  # fmt: skip
    return loads


def run_backend(
    backend: str, orders: int, clients: int = DEFAULT_CLIENTS, data: Path = CDNOW_FILE
) -> BackendResult:
    """The whole benchmark on one backend, in a throwaway database."""
    # Customers' whole histories (the file is sorted by customer), delivered by date as a
    # shop sends them: a batch holds many customers, as live traffic does.
    transactions = sorted(read_transactions(orders, data), key=lambda t: (t.ordered_at, t.line))
    load_before = load_average()
    with throwaway_database(backend) as url, app_runtime(url) as runtime:
        install_shop(runtime)
        deliveries = signed_deliveries(transactions, SHOP, runtime.settings.shopify_api_secret)
        expected = expect(transactions, deliveries)
        floor, receiver = measure_receiver(runtime, deliveries, clients)
        check_stored(runtime, expected)
        log.info("%s: receiver %.0f req/s, floor %.0f req/s", backend, receiver.rate, floor.rate)
        adapter = adapter_only(runtime, expected)
        timeout = 120 + 0.2 * orders
        drains = []
        for workers in WORKERS[backend]:
            drains.append(timed_drain(runtime, expected, workers, timeout))
            log.info("%s: %s %.0f rows/s", backend, drains[-1].label, drains[-1].rows_per_second)
        database = server_version(runtime.engine)
    body_bytes = sum(len(d.body) for d in deliveries) // len(deliveries)
    return BackendResult(
        backend, database, orders, expected.customers, clients, body_bytes,
        floor, receiver, adapter, drains, (load_before, load_average()),
    )  # fmt: skip


@contextmanager
def app_runtime(database_url: str, **overrides: Any) -> Iterator[Runtime]:
    """The app's runtime on a migrated database, with fresh secrets (`overrides` replace
    any setting, e.g. the simulator's API key and address)."""
    settings = replace(
        Settings(),
        database_url=database_url,
        shopify_api_key="benchmark-api-key",
        shopify_api_secret=secrets.token_urlsafe(32),
        secret_key=secrets.token_urlsafe(48),
    )
    settings = replace(settings, **overrides)
    runtime = build_runtime(settings)
    try:
        upgrade_head(runtime.engine)
        yield runtime
    finally:
        runtime.close()


def install_shop(runtime: Runtime) -> None:
    """Installed as a merchant installs it (built-in segments created), then swept once so
    the built-ins are settled and real time evaluates every one of them."""
    with runtime.sessions.begin() as session:
        shop = install(
            session, runtime.settings, "shopify", SHOP, Credentials("benchmark-token"),
            auth_method="custom", now=utcnow(),
        )  # fmt: skip
        shop_id = shop.id
    sweep_shop(runtime, shop_id, utcnow())


def expect(transactions: list[Transaction], deliveries: list[SignedDelivery]) -> Expected:
    return Expected(
        shop_domain=SHOP,
        orders=len(transactions),
        customers=len({tx.customer for tx in transactions}),
        spent_minor=sum(tx.minor for tx in transactions),
        webhook_ids=frozenset(d.webhook_id for d in deliveries),
    )


def measure_receiver(
    runtime: Runtime, deliveries: list[SignedDelivery], clients: int
) -> tuple[LoadResult, LoadResult]:
    """The HTTP floor, then the app's receiver, by the same client on the same server type."""
    timeout = 60 + 0.05 * len(deliveries)
    warmup = [_badly_signed(d) for d in deliveries[:WARMUP_REQUESTS]]
    with Client(clients) as client:
        with serve(http_floor) as url:
            client.post_all(url + WEBHOOK_PATH, warmup, timeout)
            floor = client.post_all(url + WEBHOOK_PATH, deliveries, timeout)
        with serve(create_app(runtime)) as url:
            with quiet("webhooks"):  # one warning per rejected warm-up request
                rejected = client.post_all(url + WEBHOOK_PATH, warmup, timeout)
            receiver = client.post_all(url + WEBHOOK_PATH, deliveries, timeout)
    _expect_outcomes("HTTP floor", floor, "200 ok")
    _expect_outcomes("warm-up (bad signatures)", rejected, "401 None")
    _expect_outcomes("receiver", receiver, "200 stored")
    return floor, receiver


def _badly_signed(delivery: SignedDelivery) -> SignedDelivery:
    """A copy the app rejects after looking up the shop's secrets: it warms the server,
    Flask and the database pool without storing anything."""
    headers = {**delivery.headers, "X-Shopify-Hmac-Sha256": sign("not-the-secret", delivery.body)}
    return replace(delivery, headers=headers)


def _expect_outcomes(what: str, load: LoadResult, outcome: str) -> None:
    if load.outcomes != Counter({outcome: load.requests}):
        raise BenchmarkError(f"{what}: responses {dict(load.outcomes)}, expected all {outcome!r}")


def write_report(results: list[IngestResult], out: Path, command: str) -> str:
    """Update each backend's section of `out`; returns the sections written."""
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    commit = app_commit()
    sections = []
    for found in results:
        result = found.backend
        section = render(result, machine([result.database]), date, command, commit)
        gunicorn_lines = gunicorn_receiver.render(found.gunicorn, result.backend)
        if gunicorn_lines:
            section += "\n" + "\n".join(gunicorn_lines) + "\n"
        update_document(out, f"benchmarks.ingest {result.backend}", section)
        sections.append(section)
    return "\n".join(sections)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingest", description=__doc__)
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS, help="CDNOW orders sent")
    parser.add_argument("--clients", type=int, default=DEFAULT_CLIENTS, help="client threads")
    parser.add_argument(
        "--receiver-requests",
        type=int,
        default=gunicorn_receiver.DEFAULT_REQUESTS,
        help="requests per body size and endpoint in the gunicorn step (0 skips it)",
    )
    parser.add_argument("--data", type=Path, default=CDNOW_FILE, help="CDNOW_master.txt(.gz)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Markdown file updated")
    args = parser.parse_args(argv)
    if args.orders < 1 or args.clients < 1:
        parser.error("--orders and --clients must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    def run(args: argparse.Namespace, backends: list[str]) -> list[IngestResult]:
        return [
            IngestResult(
                run_backend(b, args.orders, args.clients, args.data),
                run_gunicorn_receiver(b, args.receiver_requests),
            )
            for b in backends
        ]

    return benchmark_main("benchmarks.ingest", argv, parse_args, run, write_report)


if __name__ == "__main__":
    sys.exit(main())
