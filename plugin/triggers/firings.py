"""Trigger firings: scheduled once per cause (dedupe key), cancelled when the cause is gone,
or recorded as skipped with the reason when a cause will not fire."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from plugin.db import insert_for
from plugin.outbox import models as outbox
from plugin.outbox.models import OutboxItem
from plugin.tagsync import trigger_tags
from plugin.triggers.catalogue import (
    CANCELLED,
    DEFERRED,
    FIRED,
    PENDING_STATES,
    SCHEDULED,
    SKIPPED,
)
from plugin.triggers.models import TriggerFiring

CHUNK = 1000  # customer ids per IN list
NOT_FIRED = (SKIPPED, DEFERRED, CANCELLED)


def schedule(
    session: Session,
    shop_id: int,
    name: str,
    dedupe_key: str,
    *,
    due_at: datetime,
    why: str,
    now: datetime,
    customer_id: int | None = None,
    checkout_token: str | None = None,
    payload: dict[str, Any] | None = None,
) -> bool:
    """Schedule a firing unless one with this dedupe key exists; True when it is new.

    The unique (shop, dedupe_key) makes a repeated cause (a duplicated webhook delivery, a
    second scan, two workers) collapse into the first firing, on both databases.
    """
    values = _row(shop_id, name, dedupe_key, why, now, customer_id=customer_id, payload=payload)
    values.update(state=SCHEDULED, due_at=due_at, checkout_token=checkout_token)
    stmt = insert_for(session, TriggerFiring).values(**values)
    stmt = stmt.on_conflict_do_nothing(index_elements=["shop_id", "dedupe_key"])
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Skip:
    """A cause that will not fire its trigger, and exactly why (`detail`)."""

    dedupe_key: str
    customer_id: int | None
    why: str
    detail: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Due:
    """A cause to fire at `due_at` (for `schedule_many`)."""

    dedupe_key: str
    customer_id: int | None
    why: str
    due_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


def schedule_many(
    session: Session, shop_id: int, name: str, dues: Sequence[Due], now: datetime
) -> None:
    """`schedule` for many causes in one statement; a cause that has a firing keeps it."""
    rows = []
    for due in dues:
        values = _row(shop_id, name, due.dedupe_key, due.why, now, due.customer_id, due.payload)
        values.update(state=SCHEDULED, due_at=due.due_at, checkout_token=None)
        rows.append(values)
    _insert_new(session, rows)


def record_skipped(
    session: Session, shop_id: int, name: str, skips: Sequence[Skip], now: datetime
) -> None:
    """Keep decisions not to fire as skipped firings, so the merchant can read why.

    Set-based, however many causes; a cause that already has a firing keeps it.
    """
    rows = []
    for skip in skips:
        values = _row(shop_id, name, skip.dedupe_key, skip.why, now, skip.customer_id, skip.payload)
        values.update(state=SKIPPED, due_at=now, detail=skip.detail, checkout_token=None)
        rows.append(values)
    _insert_new(session, rows)


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert the firings whose (shop, dedupe key) has none yet; one executemany, which
    SQLAlchemy batches into multi-row INSERTs."""
    if rows:
        stmt = insert_for(session, TriggerFiring)
        session.execute(stmt.on_conflict_do_nothing(index_elements=["shop_id", "dedupe_key"]), rows)


def _row(
    shop_id: int,
    name: str,
    dedupe_key: str,
    why: str,
    now: datetime,
    customer_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "shop_id": shop_id,
        "name": name,
        "trigger_id": str(uuid.uuid4()),
        "dedupe_key": dedupe_key[:255],
        "customer_id": customer_id,
        "why": why[:255],
        "payload": payload or {},
        "created_at": now,
        "updated_at": now,
    }


def existing_keys(session: Session, shop_id: int, dedupe_keys: list[str]) -> set[str]:
    """Which of these causes already have a firing (scheduled, fired or not)."""
    found: set[str] = set()
    for start in range(0, len(dedupe_keys), 1000):
        chunk = [key[:255] for key in dedupe_keys[start : start + 1000]]
        found.update(
            session.scalars(
                select(TriggerFiring.dedupe_key).where(
                    TriggerFiring.shop_id == shop_id, TriggerFiring.dedupe_key.in_(chunk)
                )
            )
        )
    return found


def cancel(
    session: Session, shop_id: int, firings: Iterable[TriggerFiring], reason: str, now: datetime
) -> int:
    """Cancel pending firings, and the outbox rows of fired ones not yet claimed."""
    count = 0
    for firing in firings:
        if firing.state in PENDING_STATES:
            _mark_cancelled(firing, reason, now)
            count += 1
        elif firing.state == FIRED and _cancel_undelivered(
            session, shop_id, firing.trigger_id, now
        ):
            _mark_cancelled(firing, f"{reason} before delivery", now)
            if firing.tag and firing.customer_id is not None:
                why = f"trigger {firing.name} cancelled"
                trigger_tags.tag_dropped(session, shop_id, firing.customer_id, why, now)
            count += 1
    return count


def _mark_cancelled(firing: TriggerFiring, reason: str, now: datetime) -> None:
    firing.state = CANCELLED
    firing.detail = reason
    firing.updated_at = now


def of_checkout(session: Session, shop_id: int, token: str) -> list[TriggerFiring]:
    stmt = select(TriggerFiring).where(
        TriggerFiring.shop_id == shop_id, TriggerFiring.checkout_token == token
    )
    return list(session.scalars(stmt.with_for_update()))


def pending_of_customers(
    session: Session, shop_id: int, name: str, customer_ids: list[int]
) -> list[TriggerFiring]:
    found: list[TriggerFiring] = []
    for start in range(0, len(customer_ids), CHUNK):
        stmt = select(TriggerFiring).where(
            TriggerFiring.shop_id == shop_id,
            TriggerFiring.name == name,
            TriggerFiring.customer_id.in_(customer_ids[start : start + CHUNK]),
            TriggerFiring.state.in_(PENDING_STATES),
        )
        found.extend(session.scalars(stmt.with_for_update()))
    return found


def not_fired(session: Session, shop_id: int, limit: int) -> list[TriggerFiring]:
    """The shop's firings that sent nothing (skipped, deferred, cancelled), latest first."""
    stmt = (
        select(TriggerFiring)
        .where(TriggerFiring.shop_id == shop_id, TriggerFiring.state.in_(NOT_FIRED))
        .order_by(TriggerFiring.updated_at.desc(), TriggerFiring.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def outbox_key(trigger_id: str, kind: str) -> str:
    """The coalesce key of a firing's outbox row: unique, and findable while still pending."""
    return f"trigger:{trigger_id}:{kind}"


def _cancel_undelivered(session: Session, shop_id: int, trigger_id: str, now: datetime) -> int:
    keys = [outbox_key(trigger_id, kind) for kind in (outbox.FLOW_TRIGGER, outbox.WEBHOOK)]
    stmt = (
        update(OutboxItem)
        .where(
            OutboxItem.shop_id == shop_id,
            OutboxItem.coalesce_key.in_(keys),
            OutboxItem.state == outbox.PENDING,
        )
        .values(state=outbox.CANCELLED, coalesce_key=None, updated_at=now)
    )
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
