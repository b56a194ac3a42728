"""The tag sync benchmark's sections of docs/benchmarks.md: the method, a table per backend."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.report import machine, update_document

if TYPE_CHECKING:
    from benchmarks.tags import BackendResult, Limits, PathResult

METHOD = """\
`python -m benchmarks.tags` runs the app against the simulated Shopify
(`plugin.platforms.shopify.simulator`: a real HTTP server on 127.0.0.1 that validates every
document against Shopify's schema, charges its calculated cost to a leaky bucket per shop
and answers THROTTLED when the bucket is short) at Shopify's standard rate: a bucket of
2,000 points restoring 100 points/s. The app's database is a throwaway SQLite file or
PostgreSQL database (migrated by Alembic); one shop is installed by token exchange, its
built-in segments off; N customers exist in the simulator and in the app's store, each with
a merchant tag of their own (`own-<n>`). **One call per customer** (real time): the first
P customers get the merchant tag `wholesale`; the app's profiles learn it and
`evaluate_customers` re-evaluates them in change sets of 100 (under the bulk threshold of
500), so each enters the segment Wholesale: one tag row (`tagsAdd seg:wholesale`) per
customer. **One sweep**: a new segment Everyone (`number_of_orders = 0`) and its first
`sweep_shop`: all N customers enter at once, one bulk row (staged JSONL upload,
`bulkOperationRunMutation`, `bulkOperation(id:)` polled every 2 s, result file read). Each
path starts on a full bucket and is drained by the worker's delivery loop (`deliver_due` on
the real clock with the app's pacer, back to back, 50 ms between rounds when only a polling
row is owed) until no row is pending or sending; queueing the rows is timed apart. API
calls and cost points (`actualQueryCost`, summed as the app's pacer saw each answer) are
checked against the simulator's request record; THROTTLED answers are the simulator's
count. **Theoretical minimum**: max(0, points - bucket) / restore rate, the least time the
leaky bucket allows for those points from a full bucket; the sweep's N changes are also
priced one call per customer at the points per change measured on the first path. The run
fails unless every customer ends with exactly their merchant tags plus the expected managed
tags, the simulator's tag log holds each managed change once and no change of a merchant
tag, every outbox row is done and drift repair then finds nothing to fix (the app's record
agrees with the shop). The simulator's tag webhooks are off (the app's echo
handling is not measured); a scheduled worker runs the loop every 2 s, which can add up to
2 s to each poll of a bulk operation. One section per backend and number of changes sent one
call per customer (`--per-customer`, default 1,000; 10,000 take about 16 minutes)."""


def render(r: BackendResult, machine_line: str, date: str, command: str) -> str:
    assert r.realtime and r.bulk
    title = "SQLite" if r.backend == "sqlite" else "PostgreSQL"
    one, bulk, limits = r.realtime, r.bulk, r.limits
    per_change = one.points / one.changes
    lines = [
        f"## Tag sync: {title}, {one.changes:,} changes one call per customer",
        "",
        f"{date}, app at `{r.commit}`: `{command}`  ",
        f"Machine: {machine_line}.  ",
        f"Bucket {limits.bucket_size:,.0f} points restoring {limits.restore_rate:,.0f} "
        f"points/s, bulk threshold {limits.bulk_threshold:,}; {r.customers:,} customers; "
        f"1-minute load average {r.load[0]:.1f} at the start, {r.load[1]:.1f} at the end.",
        "",
        "| path | tag changes | API calls | cost points | calls / 1,000 changes "
        "| points / 1,000 changes | THROTTLED | drain s | theoretical minimum s "
        "| drain / minimum |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        _row("one call per customer (real time)", one, limits),
        _row("one bulk mutation (one sweep)", bulk, limits),
        f"| baseline: the sweep's changes one call per customer (minimum only) "
        f"| {bulk.changes:,} | {bulk.changes:,} | {per_change * bulk.changes:,.0f} "
        f"| 1,000 | {per_change * 1000:,.0f} | — | — "
        f"| {limits.minimum_seconds(per_change * bulk.changes):,.1f} | — |",
        "",
        _details(r, per_change),
    ]
    return "\n".join(lines) + "\n"


def _row(label: str, p: PathResult, limits: Limits) -> str:
    minimum = limits.minimum_seconds(p.points)
    ratio = f"{p.seconds / minimum:.2f}x" if minimum > 0 else "—"
    return (
        f"| {label} | {p.changes:,} | {p.calls:,} | {p.points:,} | {p.per_thousand(p.calls):,.1f} "
        f"| {p.per_thousand(p.points):,.1f} | {p.throttled:,} | {p.seconds:,.2f} "
        f"| {minimum:,.1f} | {ratio} |"
    )


def _details(r: BackendResult, per_change: float) -> str:
    assert r.realtime and r.bulk
    one, bulk = r.realtime, r.bulk
    one_by_one = r.limits.minimum_seconds(per_change * bulk.changes)
    faster = f" ({one_by_one / bulk.seconds:,.0f}x)" if one_by_one >= bulk.seconds else ""
    throttled = one.throttled + bulk.throttled
    return (
        f"One call per customer: {one.changes:,} tag rows queued in {one.queue_seconds:.1f} s "
        f"(not in the drain); the pacer slept {one.paced_seconds:.1f} s waiting for points, "
        f"the app's own work (claim, plan, HTTP round trip, record) took "
        f"{_ms_per_call(one):.1f} ms per call besides, and the last tag reached the shop "
        f"after {one.landed:.2f} s. One sweep: evaluation and the bulk row took "
        f"{bulk.queue_seconds:.1f} s (not in the drain); calls: {_documents(bulk)}, plus "
        f"{_plural(bulk.uploads, 'staged upload')} and the result file's download. Every tag "
        f"was in the shop after {bulk.landed:.1f} s, of which the simulator ran the operation "
        f"for {bulk.bulk_seconds:.1f} s; the row was done after {bulk.seconds:.1f} s (polled "
        f"every 2 s, result read, known tags recorded), against {one_by_one:,.1f} s at the "
        f"least for the same changes one call per customer{faster}. Goal of zero THROTTLED "
        f"answers {'met' if throttled == 0 else 'missed'}.\n"
    )


def _ms_per_call(p: PathResult) -> float:
    """Delivery time per call outside the pacer's sleep."""
    return (p.seconds - p.paced_seconds) * 1000 / max(1, p.calls)


def _documents(p: PathResult) -> str:
    return ", ".join(
        f"{name} {_plural(calls, 'call')} ({_plural(points, 'point')})"
        for name, (calls, points) in p.documents.items()
    )


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def write_report(results: list[BackendResult], out: Path, command: str) -> str:
    """The method section, then one section per backend (other sections are kept)."""
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    update_document(out, "benchmarks.tags", f"## Tag sync: method\n\n{METHOD}\n")
    sections = []
    for r in results:
        section = render(r, machine([r.database]), date, command)
        key = f"benchmarks.tags {r.backend} {r.realtime.changes if r.realtime else 0}"
        update_document(out, key, section)
        sections.append(section)
    return "\n".join(sections)
