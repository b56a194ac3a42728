"""A backlog of one-customer tag rows folded into one bulk row: a Black-Friday burst of
orders queues a tag row per customer, and past the shop's bulk threshold thousands of
calls at the API's rate become one bulk mutation (each customer still planned at delivery).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from plugin.outbox.models import BULK_TAGS, CANCELLED, PENDING, TAGS, OutboxItem
from plugin.outbox.services import enqueue
from plugin.runtime import Runtime
from plugin.tagsync.listener import BULK_KEY
from plugin.tagsync.tags import bulk_threshold

log = logging.getLogger(__name__)
# Below this many due rows no shop is even asked for its threshold (the threshold is ≥ 1).
MIN_BACKLOG = 50
CHUNK = 5000  # ids per UPDATE: under every driver's bound-parameter limit


def fold_tag_backlogs(runtime: Runtime, now: datetime) -> None:
    """Every shop whose due one-customer tag rows exceed its bulk threshold gets them folded
    into its bulk row; one transaction per shop."""
    with runtime.sessions() as session:
        shops = session.scalars(
            select(OutboxItem.shop_id)
            .where(*_due_tag_rows(now))
            .group_by(OutboxItem.shop_id)
            .having(func.count() > MIN_BACKLOG)
        ).all()
    for shop_id in shops:
        with runtime.sessions.begin() as session:
            fold_shop_backlog(session, shop_id, now)


def fold_shop_backlog(session: Session, shop_id: int, now: datetime) -> int:
    """Fold the shop's due, unclaimed tag rows into its pending bulk row when there are more
    than its bulk threshold; each folded row is cancelled naming the bulk row. Rows a
    delivery loop has claimed are left to it. Returns how many rows were folded."""
    rows = session.execute(
        select(OutboxItem.id, OutboxItem.customer_id, OutboxItem.why)
        .where(OutboxItem.shop_id == shop_id, *_due_tag_rows(now))
        .order_by(OutboxItem.id)
        .with_for_update(skip_locked=True)  # rendered on PostgreSQL only
    ).all()
    if len(rows) <= bulk_threshold(session, shop_id):
        return 0
    customers = sorted({row.customer_id for row in rows if row.customer_id is not None})
    reasons = sorted({r for row in rows for r in (row.why or "").split(",") if r})
    bulk = enqueue(
        session,
        shop_id,
        BULK_TAGS,
        payload={"customers": customers},
        why=",".join(reasons),
        now=now,
        coalesce_key=BULK_KEY,
    )
    ids = [row.id for row in rows]
    for start in range(0, len(ids), CHUNK):
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id.in_(ids[start : start + CHUNK]))
            .values(
                state=CANCELLED,
                coalesce_key=None,
                last_error=f"folded into bulk tag row {bulk.id}",
                updated_at=now,
            )
        )
    log.info("tagsync.backlog_folded shop=%s rows=%d bulk_row=%s", shop_id, len(rows), bulk.id)
    return len(rows)


def _due_tag_rows(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        OutboxItem.kind == TAGS,
        OutboxItem.state == PENDING,
        OutboxItem.next_attempt_at <= now,
    )
