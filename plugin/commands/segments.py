"""`shopseg segments`: define, inspect, evaluate and check the health of segments."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any, TypeVar

import click
from sqlalchemy.orm import Session

from plugin.commands.core import load_runtime
from plugin.commands.customers import find_shop
from plugin.db import utcnow
from plugin.errors import ShopSegError
from plugin.runtime import Runtime
from plugin.segments import services
from plugin.segments.errors import QueryError

T = TypeVar("T")


@click.group()
def segments() -> None:
    """Customer segments: rules in Shopify's segment language, members, evaluation."""


@contextmanager
def _runtime() -> Iterator[Runtime]:
    runtime = load_runtime(migrate_sqlite=True)
    try:
        yield runtime
    except ShopSegError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        runtime.close()


def _write(domain: str, work: Callable[[Session, int], T]) -> T:
    """Run `work(session, shop_id)` in one transaction; nothing is saved if it raises."""
    with _runtime() as runtime, runtime.sessions.begin() as session:
        return work(session, find_shop(session, domain).id)


def _caret(query: str, exc: QueryError) -> str:
    """The offending line with a caret under the column."""
    lines = query.splitlines() or [""]
    line = lines[min(exc.line, len(lines)) - 1]
    return f"  {line}\n  {' ' * (exc.column - 1)}^"


def _segment_row(summary: services.SegmentSummary) -> dict[str, Any]:
    row = asdict(summary)
    at = summary.last_evaluated_at
    row["last_evaluated_at"] = at.isoformat() if at else None
    return row


@segments.command("list")
@click.argument("domain")
@click.option("--json", "as_json", is_flag=True, help="Print the segments as JSON.")
def list_(domain: str, as_json: bool) -> None:
    """The segments of shop DOMAIN: size, last evaluation and health flags."""
    from plugin.segments.health import health_flags

    def work(session: Session, shop_id: int) -> tuple[list[Any], list[Any]]:
        return services.segment_summaries(session, shop_id), health_flags(session, shop_id)

    rows, flags = _write(domain, work)
    flagged = {r.slug: [f.key for f in flags if r.slug in f.key.split(":")[1:]] for r in rows}
    if as_json:
        document = [_segment_row(r) | {"flags": flagged[r.slug]} for r in rows]
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    header = f"{'name':<24} {'state':<5} {'tag':<4} {'size':>8}  {'last evaluated':<25}"
    click.echo(f"{header} {'flags':<6} query")
    for r in rows:
        state = "on" if r.enabled else "off"
        tag = "on" if r.push_tag else "off"
        at = r.last_evaluated_at.isoformat(timespec="seconds") if r.last_evaluated_at else "never"
        marks = ",".join(k.split(":")[0] for k in flagged[r.slug]) or "-"
        click.echo(f"{r.name:<24} {state:<5} {tag:<4} {r.size:>8}  {at:<25} {marks:<6} {r.query}")
    for r in (r for r in rows if r.tag_refused):
        click.echo(
            f"! {r.name}: the shop refused its tag for {r.tag_refused} customers (e.g. over "
            f"Shopify's 250-tag limit); see `shopseg activity {domain} --failed`"
        )


def _parse_or_show(query: str) -> None:
    """Parse first: a bad query shows the error with its position and nothing is saved."""
    try:
        services.canonical_query(query)
    except QueryError as exc:
        raise click.ClickException(f"{exc.detail}\n{_caret(query, exc)}") from exc


@segments.command()
@click.argument("domain")
@click.argument("name")
@click.argument("query")
@click.option("--tag", help="The customer tag this segment writes into the shop.")
@click.option(
    "--push/--no-push",
    default=True,
    show_default=True,
    help="Whether members carry the segment's tag at the shop.",
)
def create(domain: str, name: str, query: str, tag: str | None, push: bool) -> None:
    """Create segment NAME in shop DOMAIN from QUERY (Shopify's segment language)."""
    _parse_or_show(query)
    now = utcnow()
    segment = _write(
        domain,
        lambda s, shop_id: services.create_segment(
            s, shop_id, name, query, now=now, tag=tag, push_tag=push
        ),
    )
    click.echo(f"Created {segment.name!r}: {segment.query}")
    click.echo("Members are computed by the next sweep (`shopseg segments evaluate`).")


@segments.command()
@click.argument("domain")
@click.argument("name")
@click.argument("query")
def edit(domain: str, name: str, query: str) -> None:
    """Replace the rule of segment NAME; members move at the next evaluation."""
    _parse_or_show(query)
    now = utcnow()
    segment = _write(
        domain, lambda s, shop_id: services.edit_segment(s, shop_id, name, query, now=now)
    )
    click.echo(f"Updated {segment.name!r}: {segment.query}")


@segments.command()
@click.argument("domain")
@click.argument("name")
def disable(domain: str, name: str) -> None:
    """Switch segment NAME off: its members leave it (reason `disabled`)."""
    now = utcnow()
    closed = _write(domain, lambda s, shop_id: services.disable_segment(s, shop_id, name, now=now))
    click.echo(f"Disabled {name!r}; {closed} memberships closed.")


@segments.command()
@click.argument("domain")
@click.argument("name")
def enable(domain: str, name: str) -> None:
    """Switch segment NAME back on; members return at the next evaluation."""
    now = utcnow()
    _write(domain, lambda s, shop_id: services.enable_segment(s, shop_id, name, now=now))
    click.echo(f"Enabled {name!r}.")


@segments.command()
@click.argument("domain")
@click.argument("name")
@click.argument("switch", type=click.Choice(["on", "off"]))
def push(domain: str, name: str, switch: str) -> None:
    """Turn the tag of segment NAME at the shop on or off (built-ins start off)."""
    from plugin.tagsync.choice import set_push_tag

    now = utcnow()
    segment, queued = _write(
        domain, lambda s, shop_id: set_push_tag(s, shop_id, name, switch == "on", now)
    )
    change = "gain" if segment.push_tag else "lose"
    click.echo(f"{segment.name!r}: push as a tag {switch}; {queued} customers to {change} it")


@segments.command()
@click.argument("domain")
@click.argument("query")
def preview(domain: str, query: str) -> None:
    """How many customers of DOMAIN match QUERY now, and 20 of them (nothing is saved)."""
    from plugin.segments.preview import preview_query

    _parse_or_show(query)
    now = utcnow()
    result = _write(domain, lambda s, shop_id: preview_query(s, shop_id, query, now))
    for notice in result.notices:
        click.echo(f"Note: {notice}")
    click.echo(f"Query: {result.canonical}")
    click.echo(f"Matches: {result.count}")
    click.echo(f"Sample: {', '.join(result.sample) or '-'}")


@segments.command()
@click.argument("domain")
@click.argument("name")
@click.option("--csv", "as_csv", is_flag=True, help="One customer_id per row, with a header.")
def members(domain: str, name: str, as_csv: bool) -> None:
    """The platform customer ids of segment NAME's current members."""

    def work(session: Session, shop_id: int) -> list[str]:
        return services.member_ids(session, shop_id, services.find_segment(session, shop_id, name))

    ids = _write(domain, work)
    if as_csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["customer_id"])
        writer.writerows([i] for i in ids)
        click.echo(out.getvalue(), nl=False)
    else:
        for customer_id in ids:
            click.echo(customer_id)


@segments.command()
def fields() -> None:
    """The fields and functions a query can use, from the catalogue."""
    from plugin.segments.catalogue import FIELDS, FUNCTIONS

    for spec in FIELDS.values():
        click.echo(f"{spec.name:<32} {spec.type:<12} {spec.description}  e.g. {spec.example}")
    for fn in FUNCTIONS.values():
        params = ", ".join(fn.param_names)
        click.echo(f"{fn.name + '(' + params + ')':<32} {'function':<12} {fn.description}")


@segments.command()
@click.argument("domain")
@click.option(
    "--full",
    is_flag=True,
    help="Evaluate every customer, not only those that can have changed since the last sweep.",
)
def evaluate(domain: str, full: bool) -> None:
    """Sweep shop DOMAIN now: refresh time-based metrics and RFM, evaluate every segment
    for the customers that can have changed since the last sweep (all with --full)."""
    from plugin.segments.evaluator_sweep import sweep_shop

    now = utcnow()
    with _runtime() as runtime:
        with runtime.sessions() as session:
            shop_id = find_shop(session, domain).id
        result = sweep_shop(runtime, shop_id, now, full=full)
    kind = "incrementally" if result.incremental else "in full"
    click.echo(
        f"Evaluated {domain} {kind}: {result.customers_changed} customers changed, "
        f"{result.entered} entered, {result.exited} exited."
    )


@segments.command()
@click.argument("domain")
@click.option("--dismiss", "dismiss", metavar="FLAG", help="Hide this flag from now on.")
@click.option("--json", "as_json", is_flag=True, help="Print KPIs and flags as JSON.")
def health(domain: str, dismiss: str | None, as_json: bool) -> None:
    """KPIs of each segment for the shop's last complete day (named in the output; a
    segment not evaluated by then says so), and health flags."""
    from plugin.segments import health as kpis
    from plugin.segments.health_report import health_report

    now = utcnow()

    def work(session: Session, shop_id: int) -> tuple[Any, list[Any]]:
        if dismiss:
            kpis.dismiss_flag(session, shop_id, dismiss, now)
        kpis.ensure_daily(session, shop_id, now)
        return health_report(session, shop_id), kpis.health_flags(session, shop_id)

    report, flags = _write(domain, work)
    rows = [_health_row(row) for row in report.rows]
    if as_json:
        day = report.day.isoformat() if report.day else None
        document = {"day": day, "timezone": report.timezone, "segments": rows}
        document["flags"] = [asdict(f) for f in flags]
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    if report.day is None:
        click.echo("No KPIs yet: the shop has no segments.")
    else:
        click.echo(f"KPIs of {report.day}, the shop's last complete day ({report.timezone}).")
    click.echo(f"{'segment':<24} {'size':>7} {'revenue 90d':>12} {'AOV':>8} {'repeat':>7} conv 30d")
    for r in rows:
        click.echo(_health_line(r))
    for flag in flags:
        click.echo(f"! {flag.message}  [{flag.key}]")


def _health_line(r: dict[str, Any]) -> str:
    if r["status"] == "not_evaluated":
        return f"{r['segment']:<24} {r['note']}"
    line = (
        f"{r['segment']:<24} {r['size']:>7} {r['revenue_90d_minor']:>12} "
        f"{_show(r['aov_minor']):>8} {_show(r['repeat_rate']):>7} "
        f"{_show(r['conversion_30d'])} (n={r['conversion_n']})"
    )
    return f"{line}  ({r['note']})" if r["note"] else line


HEALTH_KEYS = (
    "size",
    "revenue_90d_minor",
    "orders_90d",
    "aov_minor",
    "orders_per_member",
    "repeat_rate",
    "conversion_30d",
    "conversion_n",
)


def _health_row(row: Any) -> dict[str, Any]:
    daily = row.daily
    head = {"segment": row.segment.name, "day": daily.day.isoformat(), "status": row.status}
    return head | {k: getattr(daily, k) for k in HEALTH_KEYS} | {"note": row.note}


def _show(value: float | int | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


COMMANDS: list[click.Command] = [segments]
