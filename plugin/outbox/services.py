"""Outbox rows through their life: enqueue (coalescing), claim, complete, fail, retry, cancel.

Services take the session first and leave the commit to the caller. The delivery loop
(`plugin.outbox.delivery`) claims due rows in one short transaction, calls the shop
outside any transaction, then records the outcome in another.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from plugin.db import insert_for
from plugin.outbox.models import CANCELLED, DEAD, DONE, PENDING, SENDING, OutboxItem
from plugin.outbox.retries import (
    ERROR_LIMIT,
    describe,
    is_rate_limited,
    is_transient,
    rate_limit_delay,
    retry_delay,
)

MAX_ATTEMPTS = 12  # about 6 hours of capped backoff; then the row is dead
MAX_AGE = timedelta(days=2)  # no row is retried beyond this, whatever its attempts
# A claimed row is due again after this if its loop died before recording the outcome;
# longer than any call plus its pacing wait, so a live loop never loses its claim.
CLAIM_LEASE = timedelta(minutes=10)
WHY_LIMIT = 512


def enqueue(
    session: Session,
    shop_id: int,
    kind: str,
    *,
    payload: dict[str, Any],
    why: str,
    now: datetime,
    customer_id: int | None = None,
    coalesce_key: str | None = None,
    due_at: datetime | None = None,
) -> OutboxItem:
    """A new pending row, or the pending row with the same `coalesce_key` with this change
    merged in: the new `why` appended, list values of the payload united, the earlier due
    time kept."""
    values = _new_row(shop_id, kind, customer_id, payload, why, due_at or now, now)
    if coalesce_key is None:
        item = OutboxItem(**values, coalesce_key=None)
        session.add(item)
        session.flush()
        return item
    existing = _pending_with_key(session, shop_id, coalesce_key)
    if existing is None:
        stmt = insert_for(session, OutboxItem).values(**values, coalesce_key=coalesce_key)
        stmt = stmt.on_conflict_do_nothing(index_elements=["shop_id", "coalesce_key"])
        inserted = session.execute(stmt).rowcount  # type: ignore[attr-defined]
        existing = _pending_with_key(session, shop_id, coalesce_key)
        if inserted and existing is not None:
            return existing
    if existing is None:  # a concurrent loop claimed it between insert and read: rare;
        raise LookupError(f"outbox row {coalesce_key} vanished")  # the unit of work retries
    _merge(existing, payload, why, due_at or now, now)  # join the pending row
    return existing


def _new_row(
    shop_id: int,
    kind: str,
    customer_id: int | None,
    payload: dict[str, Any],
    why: str,
    due: datetime,
    now: datetime,
) -> dict[str, Any]:
    return {
        "shop_id": shop_id,
        "kind": kind,
        "customer_id": customer_id,
        "payload": payload,
        "why": why[:WHY_LIMIT],
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": due,
        "created_at": now,
        "updated_at": now,
    }


def enqueue_for_customers(
    session: Session,
    shop_id: int,
    kind: str,
    whys: dict[int, str],
    *,
    now: datetime,
    key_prefix: str,
) -> int:
    """One coalesced row per customer (`{key_prefix}{customer id}`), set-based: a customer
    with a pending row has the why appended to it. Returns how many customers."""
    if not whys:
        return 0
    rows = [
        {
            **_new_row(shop_id, kind, customer_id, {}, why, now, now),
            "coalesce_key": f"{key_prefix}{customer_id}",
        }
        for customer_id, why in sorted(whys.items())
    ]
    stmt = _coalescing_upsert(session.get_bind().dialect.name)
    session.execute(stmt, rows)
    return len(rows)


@cache
def _coalescing_upsert(dialect: str) -> Any:
    """The insert-or-join statement of `enqueue_for_customers`, built once per dialect: it
    runs for every real-time membership change, and building it cost more than running it."""
    table = OutboxItem.__table__
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    old, new = table.c.why, stmt.excluded.why
    # Append only what the row does not say yet (whys are comma-separated slugs).
    seen = ("," + old + ",").like("%," + new + ",%")
    return stmt.on_conflict_do_update(
        index_elements=["shop_id", "coalesce_key"],
        set_={
            "why": case((seen, old), else_=func.substr(old + "," + new, 1, WHY_LIMIT)),
            "next_attempt_at": case(
                (
                    stmt.excluded.next_attempt_at < table.c.next_attempt_at,
                    stmt.excluded.next_attempt_at,
                ),
                else_=table.c.next_attempt_at,
            ),
            "updated_at": stmt.excluded.updated_at,
        },
    )


def _pending_with_key(session: Session, shop_id: int, key: str) -> OutboxItem | None:
    stmt = (
        select(OutboxItem)
        .where(OutboxItem.shop_id == shop_id, OutboxItem.coalesce_key == key)
        .with_for_update()
    )
    return session.scalar(stmt)


def _merge(
    item: OutboxItem, payload: dict[str, Any], why: str, due: datetime, now: datetime
) -> None:
    merged = dict(item.payload or {})
    for key, value in payload.items():
        old = merged.get(key)
        if isinstance(old, list) and isinstance(value, list):
            merged[key] = _union(old, value)
        else:
            merged[key] = value
    item.payload = merged
    reasons = [r for r in item.why.split(",") if r]
    reasons += [r for r in why.split(",") if r and r not in reasons]
    item.why = ",".join(reasons)[:WHY_LIMIT]
    item.next_attempt_at = min(item.next_attempt_at, due)
    item.updated_at = now


def _union(old: list[Any], new: list[Any]) -> list[Any]:
    try:
        seen = set(old)
    except TypeError:  # unhashable items (objects): the slow way
        return old + [v for v in new if v not in old]
    return old + [v for v in new if v not in seen]


def claim_due(session: Session, now: datetime, limit: int) -> list[OutboxItem]:
    """Due rows (pending, or claimed rows whose lease ran out: a bulk operation to poll, a
    loop that died) moved to `sending` under a lease; their coalesce key is cleared so a
    later change starts a new row. On PostgreSQL rows locked by another loop are skipped."""
    stmt = (
        select(OutboxItem)
        .where(OutboxItem.state.in_((PENDING, SENDING)), OutboxItem.next_attempt_at <= now)
        .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # rendered on PostgreSQL only
    )
    items = list(session.scalars(stmt))
    for item in items:
        item.state = SENDING
        item.coalesce_key = None
        item.next_attempt_at = now + CLAIM_LEASE
        item.updated_at = now
    session.flush()
    return items


def complete(
    session: Session, item: OutboxItem, result: dict[str, Any] | None, now: datetime
) -> None:
    item.state = DONE
    item.attempts += 1
    item.result = result
    item.done_at = now
    item.updated_at = now
    session.flush()


def later(
    session: Session, item: OutboxItem, delay: timedelta, now: datetime, note: str | None = None
) -> None:
    """Not finished yet (a bulk operation runs): due again after `delay`, still claimed;
    not an attempt, but the age limit still applies."""
    if _too_old(item, now):
        _dead(item, f"gave up after {MAX_AGE.days} days: {note or item.last_error}", now)
        return
    item.next_attempt_at = now + delay
    item.updated_at = now
    if note:
        item.last_error = note[:ERROR_LIMIT]
    session.flush()


def fail(session: Session, item: OutboxItem, exc: Exception, now: datetime) -> None:
    """Record a failed attempt: a permanent refusal is dead with its reason; a transient one
    is retried with capped, fully jittered exponential backoff (never sooner than the
    shop's `Retry-After` or throttle wait), until MAX_ATTEMPTS or MAX_AGE. A rate-limit
    answer is not an attempt: a busy Black-Friday shop throttles often, and counting each
    one would back rows off for an hour and then park them as dead."""
    item.updated_at = now
    reason = describe(exc)
    item.last_error = reason
    if is_rate_limited(exc) and not _too_old(item, now):
        item.state = PENDING
        item.next_attempt_at = now + rate_limit_delay(exc)
        session.flush()
        return
    item.attempts += 1
    if not is_transient(exc):
        _dead(item, reason, now)
    elif item.attempts >= MAX_ATTEMPTS:
        _dead(item, f"gave up after {item.attempts} attempts: {reason}", now)
    elif _too_old(item, now):
        _dead(item, f"gave up after {MAX_AGE.days} days: {reason}", now)
    else:
        item.state = PENDING
        item.next_attempt_at = now + retry_delay(exc, item.attempts)
    session.flush()


def _too_old(item: OutboxItem, now: datetime) -> bool:
    since = item.queued_at or item.created_at
    return since is not None and now - since > MAX_AGE


def _dead(item: OutboxItem, reason: str, now: datetime) -> None:
    item.state = DEAD
    item.coalesce_key = None
    item.last_error = reason[:ERROR_LIMIT]
    item.updated_at = now


def retry_dead(
    session: Session, shop_id: int, now: datetime, ids: Sequence[int] | None = None
) -> int:
    """Dead rows of the shop (all, or only those of `ids`) pending again with a fresh set
    of attempts; returns how many.

    They come back without a coalesce key (a pending row of the same customer may exist:
    tag rows compute their work at delivery, so the second one finds nothing to do)."""
    stmt = update(OutboxItem).where(OutboxItem.shop_id == shop_id, OutboxItem.state == DEAD)
    if ids is not None:
        stmt = stmt.where(OutboxItem.id.in_(list(ids)))
    result = session.execute(
        stmt.values(
            state=PENDING,
            attempts=0,
            coalesce_key=None,
            next_attempt_at=now,
            queued_at=now,
            updated_at=now,
        ).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def cancel_for_shop(session: Session, shop_id: int, now: datetime, reason: str) -> int:
    """Nothing more is owed to the shop (uninstalled, needs reauthorisation): its pending
    and claimed rows are cancelled with the reason; returns how many."""
    result = session.execute(
        update(OutboxItem)
        .where(OutboxItem.shop_id == shop_id, OutboxItem.state.in_((PENDING, SENDING)))
        .values(
            state=CANCELLED,
            coalesce_key=None,
            last_error=reason[:ERROR_LIMIT],
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def items_of(
    session: Session,
    shop_id: int,
    *,
    states: Sequence[str] | None = None,
    limit: int = 50,
) -> list[OutboxItem]:
    """The shop's rows, newest first (the activity log)."""
    stmt = select(OutboxItem).where(OutboxItem.shop_id == shop_id)
    if states:
        stmt = stmt.where(OutboxItem.state.in_(states))
    return list(session.scalars(stmt.order_by(OutboxItem.id.desc()).limit(limit)))


def pending_count(session: Session, shop_id: int | None = None) -> int:
    stmt = select(func.count()).where(or_(OutboxItem.state == PENDING, OutboxItem.state == SENDING))
    if shop_id is not None:
        stmt = stmt.where(OutboxItem.shop_id == shop_id)
    return int(session.scalar(stmt) or 0)
