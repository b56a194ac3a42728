"""`shopseg backfill DOMAIN` (the history import, with progress) and `shopseg status DOMAIN`
(install, import, reconcile and prediction quality)."""

from __future__ import annotations

import time
from datetime import datetime

import click

from plugin.backfill import runs
from plugin.backfill.importer import BUSY, DONE, STAGE_BATCH, Tick, advance
from plugin.backfill.sources import source_for
from plugin.billing.services import PlanOverview, plan_overview
from plugin.commands.core import load_runtime
from plugin.commands.customers import find_shop
from plugin.db import utcnow
from plugin.errors import PlatformError, ShopSegError
from plugin.predictions.report import quality_lines
from plugin.runtime import Runtime

PARTIAL = (
    "partial history: the app may not read all orders (no read_all_orders scope), so only "
    "the last 60 days of orders were imported; Shopify's own totals are kept per customer"
)


class Bar:
    """One status line on stderr: rows staged, rate, ETA — or what it waits for."""

    def __init__(self) -> None:
        self.ticks: dict[str, Tick] = {}
        self.started = time.monotonic()
        self.first_done: int | None = None

    def __call__(self, tick: Tick) -> None:
        self.ticks[tick.resource] = tick
        self.draw()

    def draw(self, note: str | None = None) -> None:
        done = sum(t.lines_done for t in self.ticks.values())
        expected = sum(max(t.object_count, t.lines_done) for t in self.ticks.values())
        if self.first_done is None:
            self.first_done = done
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = (done - self.first_done) / elapsed
        eta = f"{(expected - done) / rate:,.0f}s" if rate > 0 and expected > done else "-"
        states = " ".join(f"{r}:{t.state}" for r, t in self.ticks.items())
        line = f"\r{done:>12,} / {expected:,} rows  {rate:,.0f} rows/s  ETA {eta}  {states}"
        click.echo((line + (f"  {note}" if note else "")).ljust(110), nl=False, err=True)


@click.command()
@click.argument("domain")
@click.option("--poll", default=2.0, show_default=True, help="Seconds between status checks.")
@click.option("--again", is_flag=True, help="Start a new import even if one finished.")
@click.option(
    "--batch",
    default=STAGE_BATCH,
    show_default=True,
    type=click.IntRange(min=1),
    help="Lines per staging transaction (merging takes four times as many).",
)
def backfill(domain: str, poll: float, again: bool, batch: int) -> None:
    """Import the shop's existing customers, products and orders (resumes an unfinished one)."""
    runtime = load_runtime(migrate_sqlite=True)
    try:
        run_id = _run_to_advance(runtime, domain, again)
        if run_id is None:
            click.echo(f"{domain}: the history import is already done (use --again).")
            return
        _drive(runtime, domain, run_id, poll, batch)
        _print_status(runtime, domain)
    except ShopSegError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        runtime.close()


def _run_to_advance(runtime: Runtime, domain: str, again: bool) -> int | None:
    with runtime.sessions.begin() as session:
        shop = find_shop(session, domain)
        run = runs.unfinished_run(session, shop.id)
        if run is None and (again or runs.latest_run(session, shop.id) is None):
            run = runs.create_run(session, shop.id, "command", utcnow())
        return run.id if run is not None else None


def _drive(runtime: Runtime, domain: str, run_id: int, poll: float, batch: int) -> None:
    bar = Bar()
    while True:
        with runtime.sessions() as session:
            shop = find_shop(session, domain)
        try:
            source = source_for(runtime, shop)
            outcome = advance(runtime, run_id, source, on_progress=bar, batch=batch)
        except PlatformError as exc:
            if not exc.transient:
                raise
            bar.draw(f"retrying: {exc.detail}")
            time.sleep(exc.retry_after or poll)
            continue
        if outcome == DONE:
            click.echo("", err=True)
            return
        bar.draw("another process runs this import" if outcome == BUSY else "waiting for Shopify")
        time.sleep(poll)


@click.command()
@click.argument("domain")
def status(domain: str) -> None:
    """The shop's install state and its history import: progress, figures, partial history."""
    runtime = load_runtime(migrate_sqlite=True)
    try:
        _print_status(runtime, domain)
    except ShopSegError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        runtime.close()


def _print_status(runtime: Runtime, domain: str) -> None:
    with runtime.sessions() as session:
        shop = find_shop(session, domain)
        report = runs.progress(session, shop.id)
        reconciled = runs.progress(session, shop.id, reconcile=True)
        predictions = quality_lines(session, shop.id)
        refreshed = runs.progress(session, shop.id, statistics=True)
        click.echo(f"{shop.domain}: {shop.install_state}, installed {_when(shop.installed_at)}")
        click.echo(plan_line(plan_overview(session, shop)))
    if report is None:
        click.echo("history import: none yet")
    else:
        _print_import(report)
    _print_reconcile(reconciled)
    _print_statistics(refreshed)
    click.echo("\n".join(predictions))


def plan_line(view: PlanOverview) -> str:
    """`plan: Growth (ACTIVE), 23,570 of 25,000 customers`, or why no plan applies."""
    if not view.billable:
        return f"plan: billed outside Shopify (no limits), {view.customers:,} customers"
    limit = view.plan.customer_limit
    of = f"{view.customers:,} of " + (f"{limit:,}" if limit is not None else "unlimited")
    line = f"plan: {view.plan.name} ({view.subscription.status}), {of} customers"
    return line + (": OVER THE LIMIT, tag pushes and triggers paused" if view.overage else "")


def _print_reconcile(report: runs.RunProgress | None) -> None:
    if report is None:
        click.echo("reconcile: none yet")
        return
    since = report.counts.get("since", "-")
    click.echo(
        f"reconcile #{report.run_id}: {report.state}, updates since {since}, "
        f"finished {_when(report.finished_at)}"
    )
    for figure in ("checked", "repaired"):
        kinds = report.counts.get(figure)
        if kinds:
            click.echo(f"  {figure:<9}" + ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items())))
    if report.error:
        click.echo(f"  last error: {report.error}", err=True)


def _print_statistics(report: runs.RunProgress | None) -> None:
    if report is None:
        click.echo("statistics refresh: none yet (the import read them)")
        return
    read = report.counts.get("customers")
    click.echo(
        f"statistics refresh #{report.run_id}: {report.state}, "
        f"finished {_when(report.finished_at)}" + (f", {read:,} customers read" if read else "")
    )
    if report.error:
        click.echo(f"  last error: {report.error}", err=True)


def _print_import(report: runs.RunProgress) -> None:
    click.echo(
        f"history import #{report.run_id} ({report.why}): {report.state}, "
        f"started {_when(report.started_at)}, finished {_when(report.finished_at)}"
    )
    for phase in report.phases:
        click.echo(
            f"  {phase.resource:<10} {phase.state:<8} {phase.mode:<6} "
            f"{phase.lines_done:>12,} of {max(phase.object_count, phase.lines_done):,} lines"
        )
    if report.counts:
        figures = ", ".join(f"{k} {v:,}" for k, v in sorted(report.counts.items()))
        click.echo(f"  imported: {figures}")
    if report.partial_history:
        click.echo(f"  {PARTIAL}")
    if report.error:
        click.echo(f"  last error: {report.error}", err=True)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


COMMANDS = [backfill, status]
