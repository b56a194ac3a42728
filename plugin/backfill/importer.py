"""The history import's state machine: export, stage, merge, finish — resumable anywhere.

`advance` goes as far as it can without waiting for the platform and says where it
stopped. Every step commits its own progress (the phase's operation, url, lines staged,
lines merged), so a process killed at any point resumes where the last commit left it: a
staged batch and its `lines_done` commit together, a merged batch and its `merged_upto`
too. No transaction is open while the platform is called.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from plugin.backfill import finish, runs
from plugin.backfill.builder import Builder, Chunk
from plugin.backfill.differences import repaired_counts
from plugin.backfill.merge_facts import merge_companies, merge_store_credit
from plugin.backfill.merge_orders import merge_orders
from plugin.backfill.merge_people import merge_customers, merge_products, merge_statistics
from plugin.backfill.models import (
    BULK,
    MERGED,
    PAGED,
    PENDING,
    READY,
    RUNNING,
    STAGED,
    WAITING,
    BackfillPhase,
    BackfillRun,
)
from plugin.backfill.planner import analyze
from plugin.backfill.staging import STAGING_TABLES, Stager, clear_phase
from plugin.db import utcnow
from plugin.errors import PlatformError
from plugin.platforms.port import ExportBusy, ExportDenied, HistorySource
from plugin.runtime import Runtime
from plugin.shops.models import Shop

STAGE_BATCH = 5000  # lines per staging transaction
MERGE_FACTOR = 4  # a merging transaction takes this many staging batches
MERGERS: dict[str, Callable[..., None]] = {
    "customers": merge_customers,
    "products": merge_products,
    "orders": merge_orders,
    "statistics": merge_statistics,
    "companies": merge_companies,
    "store_credit": merge_store_credit,
}

MERGED_INTO = {  # tables whose planner statistics a bulk merge outdates (plugin.backfill.planner)
    "customers": ("customers", "customer_addresses", "customer_tags"),
    "orders": ("orders", "order_lines", "customers"),
}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tick:
    """Progress of one phase, for a progress bar."""

    resource: str
    state: str
    lines_done: int
    object_count: int


Progress = Callable[[Tick], None]
DONE, WAITING_FOR_PLATFORM, BUSY = "done", "waiting", "busy"


def advance(
    runtime: Runtime,
    run_id: int,
    source: HistorySource,
    *,
    on_progress: Progress | None = None,
    clock: Callable[[], datetime] = utcnow,
    batch: int = STAGE_BATCH,
) -> str:
    """Advance the run; returns DONE, WAITING_FOR_PLATFORM, or BUSY (another process has it)."""
    with runtime.sessions() as session:
        owner = runs.take_lease(session, run_id, clock())
    if owner is None:
        return BUSY
    tell = on_progress or (lambda _tick: None)
    step = Step(runtime, run_id, source, owner, tell, clock, batch)
    try:
        return step.run()
    finally:
        with runtime.sessions() as session:
            runs.release_lease(session, run_id, owner)


@dataclass
class Step:
    runtime: Runtime
    run_id: int
    source: HistorySource
    owner: str
    on_progress: Progress
    clock: Callable[[], datetime]
    batch: int = STAGE_BATCH  # lines per staging transaction (merging: four times as many)
    shop_id: int = 0
    reconcile: bool = False

    def run(self) -> str:
        stager = self._begin()
        resources = self._resources()
        for resource in resources:
            self._export(resource)
        with Builder(self.source.rows, stager) as builder:  # one child for every export
            for resource in resources:
                if self._phase(resource).state == READY:
                    self._stage(resource, builder)
        states = {self._phase(r).state for r in resources}
        if not states <= {STAGED, MERGED}:
            return WAITING_FOR_PLATFORM
        if self.reconcile:
            self._count_repairs()
        with self.runtime.sessions.begin() as session:  # merging joins the staged rows
            analyze(session, self.run_id, tuple(t.__tablename__ for t in STAGING_TABLES))
        for resource in resources:
            self._merge(resource)
        finish.finish_run(self.runtime, self.run_id, self.clock())
        return DONE

    # --- bookkeeping ---------------------------------------------------------------------

    def _begin(self) -> Stager:
        with self.runtime.sessions.begin() as session:
            run = session.get(BackfillRun, self.run_id)
            assert run is not None
            if run.started_at is None:
                shop = session.get(Shop, run.shop_id)
                run.started_at = self.clock()
                run.partial_history = not self.source.full_history(shop.scopes if shop else None)
            run.state = RUNNING
            self.shop_id, self.reconcile = run.shop_id, run.why == runs.RECONCILE
            dialect = session.get_bind().dialect.name
            return Stager(run.shop_id, run.id, run.started_at, dialect)

    def _resources(self) -> list[str]:
        """The source's resources this run has phases for (a run created before a resource
        was added goes on without it)."""
        with self.runtime.sessions() as session:
            found = {p.resource for p in runs.phases(session, self.run_id)}
        return [r for r in self.source.resources if r in found]

    def _phase(self, resource: str) -> BackfillPhase:
        with self.runtime.sessions() as session:
            phase = session.get(BackfillPhase, (self.run_id, resource))
            assert phase is not None
            return phase

    def _save(
        self, resource: str, work: Callable[[Session], Any] | None = None, **values: Any
    ) -> BackfillPhase:
        """Update the phase, after `work` in the same transaction (staged rows and the
        count of lines staged commit together: a kill between them cannot split them)."""
        with self.runtime.sessions.begin() as session:
            if work is not None:
                work(session)
            phase = session.get(BackfillPhase, (self.run_id, resource))
            assert phase is not None
            for key, value in values.items():
                setattr(phase, key, value)
            phase.updated_at = self.clock()
            runs.renew_lease(session, self.run_id, self.owner, self.clock())
        self._tell(phase)
        return phase

    def _tell(self, phase: BackfillPhase) -> None:
        self.on_progress(Tick(phase.resource, phase.state, phase.lines_done, phase.object_count))

    # --- export --------------------------------------------------------------------------

    def _export(self, resource: str) -> None:
        phase = self._phase(resource)
        if phase.state == READY and phase.mode == BULK and self._expired(phase):
            clear = lambda s: clear_phase(s, self.run_id, resource)  # noqa: E731
            phase = self._save(
                resource, clear, state=PENDING, operation_id=None, url=None, lines_done=0
            )
        if phase.state == PENDING:
            self._start(resource)
        elif phase.state == WAITING:
            self._check(resource, phase)

    def _expired(self, phase: BackfillPhase) -> bool:
        return phase.url_expires_at is not None and phase.url_expires_at <= self.clock()

    def _start(self, resource: str) -> None:
        try:
            operation = self.source.start(resource)
        except ExportBusy:
            log.info("backfill.export_busy run=%s resource=%s", self.run_id, resource)
            return  # the next advance starts it
        except ExportDenied:
            log.info("backfill.export_denied run=%s resource=%s mode=paged", self.run_id, resource)
            self._save(resource, state=READY, mode=PAGED, started_at=self.clock())
            return
        self._save(resource, state=WAITING, operation_id=operation, started_at=self.clock())

    def _check(self, resource: str, phase: BackfillPhase) -> None:
        assert phase.operation_id is not None
        export = self.source.check(phase.operation_id)
        if export.state == "waiting":
            self._save(resource, object_count=export.object_count)
        elif export.state == "ready":
            self._save(
                resource,
                state=READY,
                url=export.url,
                url_expires_at=export.expires_at,
                object_count=export.object_count,
            )
        elif export.state == "denied":
            self._save(resource, state=READY, mode=PAGED, operation_id=None)
        else:  # failed: export again on the next advance
            self._save(resource, state=PENDING, operation_id=None)
            raise PlatformError(f"the {resource} export {export.error}")

    # --- staging -------------------------------------------------------------------------

    def _stage(self, resource: str, builder: Builder) -> None:
        phase, stager = self._phase(resource), builder.stager
        if phase.mode == PAGED:
            self._stage_pages(resource, phase, stager)
            return
        done = phase.lines_done
        if phase.url:
            chunks = _chunks(self.source.lines(phase.url, done), self.batch, done)
            for count, staged in builder.batches(resource, chunks):
                write = lambda s, staged=staged: stager.write(s, staged)  # noqa: E731
                done += count
                self._save(resource, write, lines_done=done)
        self._save(resource, state=STAGED, object_count=max(phase.object_count, done))

    def _numbered(self, resource: str, first: int, chunk: list[Any]) -> Iterator[tuple[int, Any]]:
        rows = self.source.rows(chunk, resource)
        return ((first + offset, row) for offset, row in rows)

    def _stage_pages(self, resource: str, phase: BackfillPhase, stager: Stager) -> None:
        done, cursor = phase.lines_done, phase.cursor
        while True:
            page = self.source.page(resource, cursor)
            rows = self._numbered(resource, done, page.lines)
            done, cursor = done + len(page.lines), page.cursor
            stage = lambda s, rows=rows: stager.stage(s, rows)  # noqa: E731
            self._save(resource, stage, lines_done=done, cursor=cursor, object_count=done)
            if not page.more:
                break
        self._save(resource, state=STAGED)

    # --- merging -------------------------------------------------------------------------

    def _count_repairs(self) -> None:
        """A reconcile counts what differs before merging repairs it (once: a resumed run
        that merged part already would count less)."""
        with self.runtime.sessions.begin() as session:
            run = session.get(BackfillRun, self.run_id)
            assert run is not None
            if "repaired" not in (run.counts or {}):
                found = repaired_counts(session, self.shop_id, self.run_id)
                run.counts = {**(run.counts or {}), "repaired": found}

    def _merge(self, resource: str) -> None:
        phase = self._phase(resource)
        if phase.state == MERGED:
            return
        merge, last = MERGERS[resource], phase.lines_done - 1
        lo = phase.merged_upto + 1
        while lo <= last:
            hi = min(lo + self.batch * MERGE_FACTOR - 1, last)
            self._merge_batch(resource, merge, lo, hi)
            if lo == phase.merged_upto + 1 and resource in MERGED_INTO:
                # planned on the tables as they were (empty, at a first import), the next
                # batches would scan every order merged so far instead of the batch's
                with self.runtime.sessions.begin() as session:
                    analyze(session, self.run_id, MERGED_INTO[resource])
            lo = hi + 1
        self._save(resource, state=MERGED)

    def _merge_batch(self, resource: str, merge: Callable[..., None], lo: int, hi: int) -> None:
        for attempt in range(3):
            try:
                with self.runtime.sessions.begin() as session:
                    self._merge_in(session, resource, merge, lo, hi)
                return
            except OperationalError:  # a deadlock with a webhook's unit of work: again
                if attempt == 2:
                    raise
                log.warning("backfill.merge_retry run=%s resource=%s", self.run_id, resource)

    def _merge_in(
        self, session: Session, resource: str, merge: Callable[..., None], lo: int, hi: int
    ) -> None:
        now = self.clock()
        if resource == "products":
            merge(session, self.shop_id, self.run_id, lo, hi)
        else:
            merge(session, self.shop_id, self.run_id, lo, hi, now)
        phase = session.get(BackfillPhase, (self.run_id, resource))
        assert phase is not None
        phase.merged_upto, phase.updated_at = hi, now
        runs.renew_lease(session, self.run_id, self.owner, now)


def _chunks(lines: Iterator[Any], size: int, first: int) -> Iterator[Chunk]:
    """The lines in lists of `size`, each with the number of its first line."""
    while chunk := list(islice(lines, size)):
        yield first, chunk
        first += len(chunk)
