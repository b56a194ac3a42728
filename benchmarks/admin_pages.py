"""Server time of every admin page and API call (p50/p95) on a shop of 100k customers, 30
segments and 50k trigger firings: the URL map is enumerated, so a new route is measured
without editing this.

    python -m benchmarks.admin_pages --backend both --customers 100000
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from benchmarks.databases import BACKENDS, server_version, throwaway_database, vacuum_analyze
from benchmarks.errors import BenchmarkError
from benchmarks.firings import add_firings
from benchmarks.ingest import DEFAULT_OUT, app_runtime
from benchmarks.report import app_commit, benchmark_main, load_average, machine, update_document
from benchmarks.segments import CUSTOM_RULES
from benchmarks.segments_store import build_store
from plugin.app import create_app
from plugin.db import utcnow
from plugin.profiles.models import Customer
from plugin.runtime import Runtime
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.segments.models import CUSTOM, Segment, SegmentMembership
from plugin.segments.services import create_segment
from plugin.shops.admin_links import issue_admin_link

log = logging.getLogger("benchmarks.admin_pages")
SEGMENTS = 30
GOAL_P95_MS = 300.0
# Not the admin's pages, or not repeatable (a one-time link, the session's end), or a file
# a privacy request produced (there is none in a synthetic store).
SKIPPED = {"admin_ui.pages.login", "admin_ui.pages.logout", "admin_ui.auth.bounce"}
SKIPPED |= {"admin_ui.pages.download_export"}
PREVIEW_QUERY = "number_of_orders >= 2 AND amount_spent > 100"


@dataclass
class Timing:
    method: str
    path: str
    status: int
    ms: list[float] = field(default_factory=list)

    def p(self, q: float) -> float:
        values = sorted(self.ms)
        return values[min(len(values) - 1, int(q / 100 * len(values)))]


@dataclass
class PagesResult:
    backend: str
    customers: int
    segments: int = 0
    firings: int = 0
    database: str = ""
    commit: str = ""
    timings: list[Timing] = field(default_factory=list)
    unmeasured: list[str] = field(default_factory=list)
    load: tuple[float, float] = (0.0, 0.0)


def run_backend(
    backend: str, customers: int, repeats: int, commit: str, firings: int | None = None
) -> PagesResult:
    """`firings` defaults to half the customers (the Triggers page counts them)."""
    result = PagesResult(backend, customers, commit=commit, load=(load_average(), 0.0))
    with throwaway_database(backend) as url, app_runtime(url) as runtime:
        store = build_store(runtime, customers)
        result.firings = add_firings(runtime, store, customers // 2 if firings is None else firings)
        sweep_shop(runtime, store.shop_id, utcnow())  # built-ins settled, category fans made
        _thirty_segments(runtime, store.shop_id)
        sweep_shop(runtime, store.shop_id, utcnow())
        vacuum_analyze(runtime.engine)
        result.segments, args = _route_args(runtime, store.shop_id)
        log.info("%s %d: store and %d segments ready", backend, customers, result.segments)
        app = create_app(runtime)
        with app.test_client() as client:
            csrf = _sign_in(client, runtime, store.shop_id)
            for method, path, body in _requests(app, args, result):
                result.timings.append(_time(client, method, path, body, csrf, repeats))
        result.database = server_version(runtime.engine)
    result.load = (result.load[0], load_average())
    return result


def _thirty_segments(runtime: Runtime, shop_id: int) -> None:
    with runtime.sessions.begin() as session:
        have = session.scalar(select(func.count()).where(Segment.shop_id == shop_id)) or 0
        extra = [*CUSTOM_RULES.items()]
        extra += [(f"Spent over {n * 50}", f"amount_spent > {n * 50}") for n in range(1, 30)]
        for name, query in extra[: max(0, SEGMENTS - have)]:
            create_segment(session, shop_id, name, query, now=utcnow())


def _route_args(runtime: Runtime, shop_id: int) -> tuple[int, dict[str, str]]:
    """Values for the routes' arguments: the largest of the merchant's own segments (a
    built-in has no delete page), a customer of it."""
    with runtime.sessions() as session:
        count = session.scalar(select(func.count()).where(Segment.shop_id == shop_id)) or 0
        biggest = session.execute(
            select(Segment.slug, SegmentMembership.segment_id, func.count())
            .join(SegmentMembership, SegmentMembership.segment_id == Segment.id)
            .where(
                Segment.shop_id == shop_id,
                Segment.kind == CUSTOM,
                SegmentMembership.exited_at.is_(None),
            )
            .group_by(Segment.slug, SegmentMembership.segment_id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        customer = session.scalar(
            select(Customer.platform_id)
            .join(SegmentMembership, SegmentMembership.customer_id == Customer.id)
            .where(SegmentMembership.segment_id == biggest[1])
            .limit(1)
        )
    values = {"slug": biggest[0], "customer_id": str(customer), "customer": str(customer)}
    values |= {"platform_id": str(customer), "id": str(customer)}
    values |= {"name": "abandoned_checkout", "trigger": "abandoned_checkout"}
    return int(count), values


def _requests(app: Any, args: dict[str, str], result: PagesResult) -> list[tuple[str, str, Any]]:
    found: list[tuple[str, str, Any]] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(("/admin", "/api")) or rule.endpoint in SKIPPED:
            continue
        if "GET" not in (rule.methods or ()) or rule.endpoint.endswith("static"):
            continue
        if any(a not in args for a in rule.arguments):
            result.unmeasured.append(f"{rule.rule} (arguments {sorted(rule.arguments)})")
            continue
        found.append(("GET", rule.build({a: args[a] for a in rule.arguments})[1], None))
    found.append(("POST", "/admin/segments/_preview", {"query": PREVIEW_QUERY}))
    found.append(("POST", "/api/segments/preview", {"json": {"query": PREVIEW_QUERY}}))
    return found


def _sign_in(client: Any, runtime: Runtime, shop_id: int) -> str:
    with runtime.sessions.begin() as session:
        token = issue_admin_link(session, shop_id, runtime.settings.secret_key, utcnow())
    if client.get("/admin/login", query_string={"token": token}).status_code != 302:
        raise BenchmarkError("the admin link did not sign in")
    with client.session_transaction() as session:
        return str(session["admin_csrf"])


def _time(client: Any, method: str, path: str, body: Any, csrf: str, repeats: int) -> Timing:
    headers = {"X-CSRF-Token": csrf}
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs |= {"json": body["json"]} if "json" in body else {"data": body}
    timing = Timing(method, path, 0)
    for n in range(repeats + 1):
        start = time.perf_counter()
        response = client.open(path, method=method, **kwargs)
        response.get_data()  # a streamed answer (the CSV) is timed to its end
        elapsed = (time.perf_counter() - start) * 1000
        timing.status = response.status_code
        if n:  # the first is a warm-up (templates compiled, caches filled)
            timing.ms.append(elapsed)
    if timing.status >= 400:
        raise BenchmarkError(f"{method} {path} answered {timing.status}")
    return timing


def render(r: PagesResult, machine_line: str, date: str, command: str) -> str:
    title = "SQLite" if r.backend == "sqlite" else "PostgreSQL"
    worst = max(r.timings, key=lambda t: t.p(95))
    lines = [
        f"## Admin pages and API: {title}, {r.customers:,} customers, {r.segments} segments, "
        f"{r.firings:,} trigger firings",
        "",
        f"{date}, app at `{r.commit}`: `{command}`  ",
        f"Machine: {machine_line}; 1-minute load average {r.load[0]:.1f} at the start, "
        f"{r.load[1]:.1f} at the end.  ",
        "Server time in process (Flask test client, signed-in standalone session), first "
        "request of each route discarded as warm-up.",
        "",
        "| request | p50 ms | p95 ms |",
        "|---|---:|---:|",
        *(f"| {t.method} `{t.path}` | {t.p(50):.1f} | {t.p(95):.1f} |" for t in r.timings),
        "",
        f"Slowest p95: {worst.method} `{worst.path}` {worst.p(95):.0f} ms — goal < "
        f"{GOAL_P95_MS:.0f} ms {'met' if worst.p(95) < GOAL_P95_MS else 'missed'}; median of "
        f"all p50s {statistics.median(t.p(50) for t in r.timings):.1f} ms.",
    ]
    if r.unmeasured:
        lines += ["", "Not measured (no sample argument): " + "; ".join(r.unmeasured) + "."]
    return "\n".join(lines) + "\n"


def write_report(results: list[PagesResult], out: Path, command: str) -> str:
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections = []
    for r in results:
        section = render(r, machine([r.database]), date, command)
        update_document(out, f"benchmarks.admin_pages {r.backend}", section)
        sections.append(section)
    return "\n".join(sections)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.admin_pages", description=__doc__)
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument(
        "--firings", type=int, default=None, help="trigger firings (default: customers / 2)"
    )
    parser.add_argument("--repeats", type=int, default=20, help="timed requests per route")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Markdown file updated")
    args = parser.parse_args(argv)
    if args.customers < 10 or args.repeats < 1:
        parser.error("--customers at least 10, --repeats at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    def run(args: argparse.Namespace, backends: list[str]) -> list[PagesResult]:
        commit = app_commit()
        return [
            run_backend(b, args.customers, args.repeats, commit, args.firings) for b in backends
        ]

    return benchmark_main("benchmarks.admin_pages", argv, parse_args, run, write_report)


if __name__ == "__main__":
    sys.exit(main())
