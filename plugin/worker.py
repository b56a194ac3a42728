"""The inbox worker: claims due deliveries, turns them into domain events and applies them.

One transaction per batch, a savepoint per row: a failing row rolls back alone and is
retried with backoff, the rest of the batch commits. Rows are claimed with
`FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of workers can run at once; the
customers a batch touches are locked up front, in one sorted sweep, so two workers never
update one customer at once and cannot deadlock on each other's customer locks.

A batch is applied in generations: rows that share no customer, order, checkout or event
form one generation, whose profile writes run row by row and whose later stages (metrics,
trigger hooks, real-time segments) run once for the whole generation, in that order. A
row sharing a key with an earlier one waits for the next generation, so each customer
still sees its deliveries one at a time, in order. Rows with other events (privacy,
shop, billing) are applied alone in their place. If a generation's shared stage fails,
or two of its rows turned out to touch one customer (a guest order linked by email), the
generation is rolled back and applied one row at a time, as before. On SQLite a full
batch applies only the generations that hold most of its rows: the last ones, a few
customers' later deliveries in generations of a row or two, lead the next batch instead.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from traceback import format_tb

from sqlalchemy import or_, select
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    StatementError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from plugin.db import Unindexed, is_postgresql, lock_keys, utcnow
from plugin.errors import ConfigurationError, ValidationError
from plugin.events import (
    CheckoutDeleted,
    CheckoutUpserted,
    CustomerData,
    CustomerUpserted,
    Delivery,
    Event,
    OrderDeleted,
    OrderUpserted,
    RefundCreated,
    subject_customer_ids,
)
from plugin.handlers import BATCH_SERVICES, BATCHABLE, Context, dispatch
from plugin.inbox.models import (
    AWAITING_INSTALL,
    DEAD,
    DONE,
    DUPLICATE,
    IGNORED,
    PENDING,
    InboxRow,
)
from plugin.inbox.payloads import parse_payload
from plugin.inbox.services import can_process, find_shop
from plugin.platforms.port import PlatformAdapter
from plugin.profiles.metrics import recompute_metrics
from plugin.runtime import Runtime
from plugin.segments import evaluator_realtime as segments_realtime
from plugin.settings import Settings
from plugin.shops.models import Shop
from plugin.triggers import hooks as trigger_hooks

# A full batch applies the generations holding this share of its rows; the rest wait.
KEPT_SHARE = 0.75
BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 3600
ERROR_TEXT_LIMIT = 2000
# Failures worth another attempt; PERMANENT ones are parked as dead on the first.
TRANSIENT = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout, OSError)
PERMANENT = (ValidationError, DataError, ValueError, TypeError, ArithmeticError, RecursionError)
# PostgreSQL quotes an offending value after a colon ('invalid input syntax …: "x"').
QUOTED_VALUE = re.compile(r': "[^"]*"')
MASKED = ': "…"'

log = logging.getLogger(__name__)


class StageClock:
    """Wall and CPU seconds per stage of the worker, summed over every batch of every
    thread (a few clock reads per generation, not per row): what the benchmark reports."""

    def __init__(self) -> None:
        self.wall: Counter[str] = Counter()
        self.cpu: Counter[str] = Counter()
        self._open = threading.local()

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        self.enter(name)
        try:
            yield
        finally:
            self.leave(name)

    def enter(self, name: str) -> None:
        setattr(self._open, name, (time.perf_counter(), time.thread_time()))

    def leave(self, name: str) -> None:
        started = getattr(self._open, name, None)
        if started is None:
            return
        delattr(self._open, name)
        with _CLOCK_LOCK:
            self.wall[name] += time.perf_counter() - started[0]
            self.cpu[name] += time.thread_time() - started[1]

    def reset(self) -> None:
        with _CLOCK_LOCK:
            self.wall.clear()
            self.cpu.clear()


_CLOCK_LOCK = threading.Lock()
STAGES = StageClock()


@dataclass(frozen=True)
class _Work:
    row: InboxRow
    shop: Shop
    delivery: Delivery
    events: list[Event]

    def lock_keys(self) -> Iterator[str]:
        if self.delivery.event_id:
            yield f"{self.shop.id}:event:{self.delivery.topic}:{self.delivery.event_id}"
        for event in self.events:
            for customer_id in subject_customer_ids(event):
                yield f"{self.shop.id}:customer:{customer_id}"

    def batchable(self) -> bool:
        return all(type(event) in BATCHABLE for event in self.events)

    def generation_keys(self) -> set[str]:
        """What two rows of one generation may not share: their locks, plus the orders and
        checkouts whose trigger hooks read what the row wrote."""
        keys = set(self.lock_keys())
        for event in self.events:
            for kind, value in _objects(event):
                if value:
                    keys.add(f"{self.shop.id}:{kind}:{value}")
        return keys


def _objects(event: Event) -> Iterator[tuple[str, str | None]]:
    """Orders, checkouts and emails an event may reach (a guest order finds its customer
    by email, so two deliveries naming one email keep their order)."""
    if isinstance(event, OrderUpserted):
        yield "order", event.order.platform_id
        yield "checkout", event.order.checkout_token
        yield from _emails(event.order.email, event.order.customer)
    elif isinstance(event, OrderDeleted | RefundCreated):
        yield "order", event.order_id
    elif isinstance(event, CheckoutUpserted):
        yield "checkout", event.checkout.token
        yield from _emails(event.checkout.email, event.checkout.customer)
    elif isinstance(event, CheckoutDeleted):
        yield "checkout", event.token
    elif isinstance(event, CustomerUpserted):
        yield from _emails(None, event.customer)


def _emails(email: str | None, customer: CustomerData | None) -> Iterator[tuple[str, str | None]]:
    for value in (email, customer.email if customer else None):
        if value:
            yield "email", value.strip().casefold()


def adapter_for(platform: str) -> PlatformAdapter:
    """The adapter of a row's platform (imported lazily: the core knows no platform)."""
    if platform == "shopify":
        from plugin.platforms.shopify.adapter import ShopifyAdapter

        return ShopifyAdapter()
    raise ConfigurationError(f"no adapter for platform {platform!r}")


def process_batch(
    runtime: Runtime, *, limit: int | None = None, now: datetime | None = None
) -> int:
    """Claim up to `limit` due rows (default: the `worker_batch` setting) and process them;
    returns how many it settled: those claimed, less any a full batch left pending."""
    now = now or utcnow()
    limit = limit or runtime.settings.worker_batch
    with runtime.sessions.begin() as session:
        with STAGES.timed("claim"):
            rows = _claim(session, now, limit)
            shops = _shops_of(session, rows)
        with STAGES.timed("map"):
            work = [w for row in rows if (w := _prepare(runtime.settings, row, shops, now))]
        with STAGES.timed("lock"):
            lock_keys(session, *(key for w in work for key in w.lock_keys()))
        levels = generations(work)
        left = 0
        if len(rows) == limit and _sole_claimer(session):  # more wait: the tail joins them
            kept = _levels_kept(levels)
            left = sum(len(g) for g in levels[kept:])
            levels = levels[:kept]
        for generation in levels:
            _apply_generation(session, runtime.settings, generation, now)
        STAGES.enter("commit")
    STAGES.leave("commit")
    if rows:
        log.info("worker.batch claimed=%d left=%d", len(rows), left)
    return len(rows) - left


def drain(runtime: Runtime, *, now: datetime | None = None, limit: int | None = None) -> int:
    """Process batches until no row is due; returns how many rows were settled in all."""
    total = 0
    while settled := process_batch(runtime, limit=limit, now=now):
        total += settled
    return total


def run_worker(runtime: Runtime, stop: threading.Event, *, with_scheduler: bool = True) -> None:
    """Process until `stop` is set, sleeping when idle; hosts the periodic jobs too."""
    from plugin.scheduler import build_scheduler

    scheduler = build_scheduler(runtime) if with_scheduler else None
    if scheduler:
        scheduler.start()
    log.info("worker.started")
    try:
        while not stop.is_set():
            if not _safe_batch(runtime):
                stop.wait(runtime.settings.worker_poll_seconds)
    finally:
        if scheduler:
            scheduler.shutdown(wait=False)
        log.info("worker.stopped")


def backoff(attempts: int) -> timedelta:
    """Exponential delay with ±20 % jitter so retries of one burst spread out."""
    seconds = min(BACKOFF_BASE_SECONDS * 2**attempts, BACKOFF_MAX_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def _safe_batch(runtime: Runtime) -> int:
    try:
        return process_batch(runtime)
    except Exception:  # the database went away: keep the loop alive, retry after a pause
        log.exception("worker.batch_failed")
        return 0


def _claim(session: Session, now: datetime, limit: int) -> list[InboxRow]:
    stmt = (
        select(InboxRow)
        .where(
            InboxRow.status == PENDING,
            or_(InboxRow.next_attempt_at.is_(None), InboxRow.next_attempt_at <= now),
        )
        .order_by(InboxRow.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # rendered on PostgreSQL only
    )
    return list(session.scalars(stmt))


def _shops_of(session: Session, rows: list[InboxRow]) -> dict[tuple[str, str], Shop | None]:
    """The shop of each (platform, domain) among the rows, each looked up once."""
    keys = {(row.platform, row.shop_domain) for row in rows}
    return {key: find_shop(session, *key) for key in sorted(keys)}


def _prepare(
    settings: Settings, row: InboxRow, shops: dict[tuple[str, str], Shop | None], now: datetime
) -> _Work | None:
    """Parse the delivery into events for its shop; no writes beyond the row itself."""
    shop = shops[(row.platform, row.shop_domain)]
    if shop is None or not can_process(shop):
        row.status = AWAITING_INSTALL
        return None
    row.shop_id = shop.id
    delivery = Delivery(row.id, row.topic, row.webhook_id, row.event_id, row.triggered_at)
    try:
        payload = parse_payload(row.payload)
        events = adapter_for(row.platform).events_from_delivery(delivery, row.api_version, payload)
    except Exception as exc:
        _failed(settings, row, exc, now)
        return None
    return _Work(row, shop, delivery, events)


def generations(work: list[_Work]) -> list[list[_Work]]:
    """The batch in generations (see the module docstring), in the order they apply; a
    row that is not batchable is a generation of its own, after everything before it."""
    result: list[list[_Work]] = []
    level_of: dict[str, int] = {}
    floor = 0  # no row may go before the last lone row
    for w in work:
        if not w.batchable():
            result.append([w])
            floor = len(result)
            level_of.clear()
            continue
        keys = w.generation_keys()
        level = max([floor, *(level_of[k] + 1 for k in keys if k in level_of)])
        while len(result) <= level:
            result.append([])
        result[level].append(w)
        for key in keys:
            level_of[key] = level
    return [g for g in result if g]


def _levels_kept(levels: list[list[_Work]]) -> int:
    """How many of a full batch's generations to apply now: enough for KEPT_SHARE of its
    rows. The last ones are mostly a few customers' later deliveries, a generation of one
    or two rows each that pays a generation's whole fixed cost; left pending, they lead
    the next batch, where their customer's earlier rows are done and they join its first
    generations (each key's rows still apply in order: a row after a left one shares a
    key with it, so sits at a later level, and is left too)."""
    total = sum(len(g) for g in levels)
    done = 0
    for count, generation in enumerate(levels, start=1):
        done += len(generation)
        if done >= KEPT_SHARE * total:
            return count
    return len(levels)


def _sole_claimer(session: Session) -> bool:
    """Whether the next batch is claimed only after this one commits (SQLite's single
    writer), so rows left pending are the first it claims. With PostgreSQL's concurrent
    claims another worker could take a customer's later row before the one left."""
    return not is_postgresql(session)


def _apply_generation(
    session: Session, settings: Settings, generation: list[_Work], now: datetime
) -> None:
    if len(generation) == 1 or not all(w.batchable() for w in generation):
        with STAGES.timed("one by one"):
            for w in generation:
                _apply(session, settings, w, now)
        return
    try:
        with session.begin_nested():
            if not _apply_together(session, settings, generation, now):
                raise _Overlap
    except Exception as exc:  # rolled back: the rows again, one at a time
        if not isinstance(exc, _Overlap):
            kind = type(exc).__name__
            log.info("worker.generation_retried rows=%d error=%s", len(generation), kind)
        with STAGES.timed("one by one"):
            for w in generation:
                _apply(session, settings, w, now)


class _Overlap(Exception):
    """Two rows of a generation touched one customer: apply them one at a time."""


def _apply_together(
    session: Session, settings: Settings, generation: list[_Work], now: datetime
) -> bool:
    """The generation's profile writes (set-based where the event type has a batch
    service), then metrics, trigger hooks and real-time segments once per shop. Raises on
    any failure (the caller rolls the generation back); False when two rows touched one
    customer (nothing is marked done then)."""
    with STAGES.timed("rows"):
        rows = {w.row.id: w for w in generation}
        # A redaction earlier in the batch may have scrubbed these rows: read them again.
        session.execute(
            select(InboxRow)
            .where(InboxRow.id.in_(sorted(rows)))
            .execution_options(populate_existing=True)
        ).all()
        for w in generation:
            if w.row.payload is not None:
                w.row.subject_ids = _subjects(w.events)
            w.row.processed_at = now
            w.row.last_error = None
        repeated = _already_done_many(session, [w.row for w in generation])
        for w in generation:
            if w.row.id in repeated:
                w.row.status = DUPLICATE
        applied = [w for w in generation if w.row.id not in repeated]
    for shop_id, work in _by_shop(applied).items():
        shop = work[0].shop
        events = [event for w in work for event in w.events]
        with STAGES.timed("profiles"):
            before = segments_realtime.subjects_before(session, shop_id, events)
            touched = _write_profiles(session, settings, shop, work, now)
        if touched is None:
            return False
        with STAGES.timed("metrics"):
            recompute_metrics(session, shop_id, touched, now)
        with STAGES.timed("trigger hooks"):
            trigger_hooks.after_generation(session, shop, events, now)
        with STAGES.timed("segments"):
            segments_realtime.reevaluate_subjects(session, shop_id, events, before, now)
    for w in applied:
        w.row.status = DONE if w.events else IGNORED
    return True


def _write_profiles(
    session: Session, settings: Settings, shop: Shop, work: list[_Work], now: datetime
) -> set[int] | None:
    """Apply one shop's rows of a generation: events with a batch service together, the
    others one by one. The customers touched, or None when two rows touched one."""
    per_row: dict[int, set[int]] = {w.row.id: set() for w in work}
    grouped: dict[type[Event], list[tuple[int, Event]]] = {}
    for w in work:
        ctx = Context(settings, now, touched=per_row[w.row.id])
        for event in w.events:
            if type(event) in BATCH_SERVICES:
                grouped.setdefault(type(event), []).append((w.row.id, event))
            else:
                dispatch(session, shop, event, w.delivery, ctx)
    for kind, items in grouped.items():
        found = BATCH_SERVICES[kind](session, shop.id, [event for _, event in items])
        for (row_id, _), ids in zip(items, found, strict=True):
            per_row[row_id].update(i for i in ids if i is not None)
    touched: set[int] = set()
    for ids in per_row.values():
        if touched & ids:
            return None
        touched |= ids
    return touched


def _by_shop(work: list[_Work]) -> dict[int, list[_Work]]:
    found: dict[int, list[_Work]] = {}
    for w in work:
        found.setdefault(w.shop.id, []).append(w)
    return found


def _record_subjects(session: Session, work: _Work) -> bool:
    """Record the row's subjects before its handlers run (so a redaction they apply scrubs
    them too; not when one earlier in the batch already scrubbed the row); True when
    another delivery of the same event was already applied."""
    session.refresh(work.row)
    if work.row.payload is not None:
        work.row.subject_ids = _subjects(work.events)
        session.flush()
    return _already_done(session, work.row)


def _apply(session: Session, settings: Settings, work: _Work, now: datetime) -> None:
    row = work.row
    try:
        with session.begin_nested():
            if _record_subjects(session, work):
                row.status = DUPLICATE
            else:
                ctx = Context(settings, now)
                touched = segments_realtime.subjects_before(session, work.shop.id, work.events)
                for event in work.events:
                    dispatch(session, work.shop, event, work.delivery, ctx)
                trigger_hooks.after_events(session, work.shop, work.events, now)
                # Same savepoint: the membership diff commits or rolls back with the row.
                segments_realtime.reevaluate_subjects(
                    session, work.shop.id, work.events, touched, now
                )
                row.status = DONE if work.events else IGNORED
            row.processed_at = now
            row.last_error = None
    except Exception as exc:
        _failed(settings, row, exc, now)


def _already_done_many(session: Session, rows: list[InboxRow]) -> set[int]:
    """Of these rows, those whose event (topic and event id) another delivery already
    applied: one query per (platform, shop, topic), each through the inbox's event index
    (an `event_id IN` alone would read every done row of the inbox)."""
    groups: dict[tuple[str, str, str], set[str]] = {}
    for row in rows:
        if row.event_id:
            groups.setdefault((row.platform, row.shop_domain, row.topic), set()).add(row.event_id)
    applied: dict[tuple[str, str, str, str], set[int]] = {}
    for (platform, domain, topic), event_ids in groups.items():
        found = session.execute(
            select(InboxRow.id, InboxRow.event_id).where(
                InboxRow.platform == platform,
                InboxRow.shop_domain == domain,
                InboxRow.topic == topic,
                InboxRow.event_id.in_(sorted(event_ids)),
                # Unindexed: (shop, status) ties with the event index on SQLite and would
                # read every processed delivery of the shop.
                Unindexed(InboxRow.status) == DONE,
            )
        )
        for row_id, event_id in found:
            applied.setdefault((platform, domain, topic, event_id), set()).add(row_id)
    return {
        row.id
        for row in rows
        if row.event_id
        and applied.get((row.platform, row.shop_domain, row.topic, row.event_id), set()) - {row.id}
    }


def _already_done(session: Session, row: InboxRow) -> bool:
    """Another delivery of the same event (same topic and event id) was already applied."""
    return row.id in _already_done_many(session, [row])


def _subjects(events: list[Event]) -> str | None:
    ids = sorted({cid for event in events for cid in subject_customer_ids(event)})
    return ",".join(ids) or None


def _failed(settings: Settings, row: InboxRow, exc: Exception, now: datetime) -> None:
    if is_transient(exc):
        _retry_later(settings, row, exc, now)
    else:
        _give_up(row, exc)


def _give_up(row: InboxRow, exc: Exception) -> None:
    """A delivery that can never succeed: park it as dead with its error, keep its body."""
    row.attempts += 1
    row.status = DEAD
    row.next_attempt_at = None
    row.last_error = _describe(exc)
    log.warning("worker.row_invalid id=%s topic=%s error=%s", row.id, row.topic, type(exc).__name__)


def _retry_later(settings: Settings, row: InboxRow, exc: Exception, now: datetime) -> None:
    row.attempts += 1
    row.last_error = _describe(exc)
    if row.attempts >= settings.inbox_max_attempts:
        row.status = DEAD
        row.next_attempt_at = None
    else:
        row.next_attempt_at = now + backoff(row.attempts)
    log.warning(
        "worker.row_failed id=%s topic=%s attempts=%d error=%s",
        row.id,
        row.topic,
        row.attempts,
        type(exc).__name__,
    )
    # Frames only: the exception's message may quote payload values (it is in last_error).
    log.debug("worker.row_failed.where id=%s\n%s", row.id, "".join(format_tb(exc.__traceback__)))


def is_transient(exc: BaseException) -> bool:
    """Whether the same row can succeed later: the database was unreachable, busy or in a
    lock or serialisation conflict. Input that no retry can fix (a refused payload, a value
    a column cannot hold) is not; an error of unknown kind is retried, within the limit."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, StatementError) and not isinstance(exc, DBAPIError):
        return is_transient(exc.orig) if isinstance(exc.orig, BaseException) else True
    if isinstance(exc, IntegrityError):  # a unique key lost to a concurrent insert: retry
        return _unique_violation(exc)
    if isinstance(exc, TRANSIENT):
        return True
    return not isinstance(exc, PERMANENT)


def _unique_violation(exc: IntegrityError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate == "23505" or str(exc.orig).startswith("UNIQUE constraint failed")


def _describe(exc: Exception) -> str:
    """The error for `last_error`: a database error's own message without the statement
    and its bound values (which quote the payload)."""
    if isinstance(exc, StatementError) and exc.orig is not None:
        orig = exc.orig
        sqlstate = getattr(orig, "sqlstate", None)
        kind = f"{type(orig).__name__}, SQLSTATE {sqlstate}" if sqlstate else type(orig).__name__
        first_line = QUOTED_VALUE.sub(MASKED, (str(orig).strip().splitlines() or [""])[0])
        text = f"{type(exc).__name__} ({kind}): {first_line}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text[:ERROR_TEXT_LIMIT]
