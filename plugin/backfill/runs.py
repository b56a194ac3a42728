"""Import runs and their phases: queueing once per shop, the lease, progress as stored.

A run belongs to one shop; the first is queued when the shop is first installed, later ones
by `shopseg backfill`. One process advances a run at a time (a lease naming host and pid,
taken over at once when that process is gone on this host, or when the lease ran out).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from plugin.backfill.models import (
    BULK,
    DONE,
    FAILED,
    PAGED,
    PENDING,
    QUEUED,
    READY,
    BackfillPhase,
    BackfillRun,
)
from plugin.outbox.models import HISTORY_IMPORT, OutboxItem
from plugin.outbox.services import enqueue

LEASE = timedelta(minutes=5)
RESOURCES = ("customers", "products", "orders", "companies", "store_credit")
RECONCILE = "reconcile"  # the `why` of a reconcile run
STATISTICS = "statistics"  # the `why` of a statistics refresh (every other run is an import)
SIDE_RUNS = (RECONCILE, STATISTICS)


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def latest_run(
    session: Session, shop_id: int, *, reconcile: bool = False, statistics: bool = False
) -> BackfillRun | None:
    """The shop's latest import (or its latest reconcile, or statistics refresh)."""
    kind: ColumnElement[bool] = BackfillRun.why.not_in(SIDE_RUNS)
    if reconcile or statistics:
        kind = BackfillRun.why == (RECONCILE if reconcile else STATISTICS)
    return session.scalar(
        select(BackfillRun)
        .where(BackfillRun.shop_id == shop_id, kind)
        .order_by(BackfillRun.id.desc())
        .limit(1)
    )


def unfinished_run(
    session: Session, shop_id: int, *, reconcile: bool = False
) -> BackfillRun | None:
    run = latest_run(session, shop_id, reconcile=reconcile)
    return run if run is not None and run.state not in (DONE, FAILED) else None


def create_run(
    session: Session,
    shop_id: int,
    why: str,
    now: datetime,
    *,
    resources: tuple[str, ...] = RESOURCES,
    paged: bool = False,
    counts: dict[str, Any] | None = None,
) -> BackfillRun:
    """A new run with its phases: pending an export, or (`paged`) ready to read pages."""
    run = BackfillRun(shop_id=shop_id, state=QUEUED, why=why, counts=counts or {}, created_at=now)
    session.add(run)
    session.flush()
    state, mode = (READY, PAGED) if paged else (PENDING, BULK)
    for resource in resources:
        session.add(
            BackfillPhase(
                run_id=run.id,
                resource=resource,
                shop_id=shop_id,
                state=state,
                mode=mode,
                updated_at=now,
            )
        )
    session.flush()
    return run


def queue_first_import(session: Session, shop_id: int, now: datetime) -> BackfillRun | None:
    """The shop's first import, when it never had one (re-installs and re-auths add none)."""
    if latest_run(session, shop_id) is not None:
        return None
    run = create_run(session, shop_id, "install", now)
    enqueue_import(session, shop_id, run.id, now)
    return run


def phases(session: Session, run_id: int) -> list[BackfillPhase]:
    rows = session.scalars(select(BackfillPhase).where(BackfillPhase.run_id == run_id))
    order = {r: i for i, r in enumerate(RESOURCES)}
    return sorted(rows, key=lambda p: order.get(p.resource, 99))


def take_lease(
    session: Session, run_id: int, now: datetime, owner: str | None = None
) -> str | None:
    """Claim the run for this process; None when another live process holds it. Commits."""
    owner = owner or owner_name()
    run = session.get(BackfillRun, run_id)
    if run is None:
        return None
    holder = run.lease_owner
    free = holder is None or holder == owner or run.lease_until is None or run.lease_until <= now
    if not free and not _alive_here(holder or ""):
        free = True
    if not free:
        return None
    result = session.execute(
        update(BackfillRun)
        .where(
            BackfillRun.id == run_id,
            or_(BackfillRun.lease_owner.is_(None), BackfillRun.lease_owner == holder),
        )
        .values(lease_owner=owner, lease_until=now + LEASE)
    )
    session.commit()
    return owner if result.rowcount == 1 else None  # type: ignore[attr-defined]


def _alive_here(holder: str) -> bool:
    """A holder on this host whose process still runs (another host: trust the lease)."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def renew_lease(session: Session, run_id: int, owner: str, now: datetime) -> None:
    session.execute(
        update(BackfillRun)
        .where(BackfillRun.id == run_id, BackfillRun.lease_owner == owner)
        .values(lease_until=now + LEASE)
    )


def release_lease(session: Session, run_id: int, owner: str) -> None:
    session.execute(
        update(BackfillRun)
        .where(BackfillRun.id == run_id, BackfillRun.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )
    session.commit()


@dataclass(frozen=True)
class PhaseProgress:
    resource: str
    state: str
    mode: str
    lines_done: int
    object_count: int


@dataclass(frozen=True)
class RunProgress:
    """The run as `shopseg status` and the CLI progress bar show it."""

    run_id: int
    state: str
    why: str
    partial_history: bool
    phases: list[PhaseProgress]
    counts: dict[str, Any]
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None

    @property
    def lines_done(self) -> int:
        return sum(p.lines_done for p in self.phases)

    @property
    def lines_expected(self) -> int:
        return sum(max(p.object_count, p.lines_done) for p in self.phases)

    @property
    def waiting(self) -> bool:
        return any(p.state == "waiting" for p in self.phases)


def progress(
    session: Session, shop_id: int, *, reconcile: bool = False, statistics: bool = False
) -> RunProgress | None:
    """The latest import (or the latest reconcile, or statistics refresh) as stored."""
    run = latest_run(session, shop_id, reconcile=reconcile, statistics=statistics)
    if run is None:
        return None
    return RunProgress(
        run.id,
        run.state,
        run.why,
        run.partial_history,
        [
            PhaseProgress(p.resource, p.state, p.mode, p.lines_done, p.object_count)
            for p in phases(session, run.id)
        ],
        dict(run.counts or {}),
        run.started_at,
        run.finished_at,
        run.error,
    )


def enqueue_import(
    session: Session,
    shop_id: int,
    run_id: int,
    now: datetime,
    since: datetime | None = None,
    *,
    statistics: bool = False,
) -> OutboxItem:
    """The outbox row that advances run `run_id`: the whole history, (`since`, the
    reconcile) what was updated since then, or (`statistics`) the customers' statistics."""
    payload: dict[str, Any] = {"run_id": run_id}
    if since is not None:
        payload["since"] = since.isoformat()
    if statistics:
        payload["statistics"] = True
    return enqueue(
        session,
        shop_id,
        HISTORY_IMPORT,
        payload=payload,
        why=_why(since, statistics),
        now=now,
        coalesce_key=f"{HISTORY_IMPORT}:{run_id}",
    )


def _why(since: datetime | None, statistics: bool) -> str:
    if statistics:
        return "statistics refresh"
    return "history import" if since is None else "reconcile"
