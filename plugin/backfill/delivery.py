"""The outbox row that drives a shop's first import: it starts the exports and comes back
to poll them (like the tag import), then stages, merges and finishes in one attempt."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from plugin.backfill.importer import BUSY, WAITING_FOR_PLATFORM, advance
from plugin.backfill.sources import source_for
from plugin.outbox.delivery import Deliverer, DeliveryContext, Later
from plugin.outbox.models import HISTORY_IMPORT, OutboxItem
from plugin.outbox.services import enqueue

POLL = timedelta(seconds=3)
BUSY_WAIT = timedelta(seconds=30)


def enqueue_import(session: Session, shop_id: int, run_id: int, now: datetime) -> OutboxItem:
    return enqueue(
        session,
        shop_id,
        HISTORY_IMPORT,
        payload={"run_id": run_id},
        why="history import",
        now=now,
        coalesce_key=f"{HISTORY_IMPORT}:{run_id}",
    )


def deliver_history_import(ctx: DeliveryContext, item: OutboxItem) -> dict[str, Any]:
    run_id = int((item.payload or {})["run_id"])
    ctx.before_call()
    outcome = advance(ctx.runtime, run_id, source_for(ctx.runtime, ctx.shop, ctx.client))
    if outcome == WAITING_FOR_PLATFORM:
        raise Later(POLL, "waiting for the platform's export")
    if outcome == BUSY:
        raise Later(BUSY_WAIT, "another process advances this import")
    return {"run_id": run_id, "state": "done"}


DELIVERERS: dict[str, Deliverer] = {HISTORY_IMPORT: deliver_history_import}
