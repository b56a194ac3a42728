"""The outbox row that drives a shop's first import: it starts the exports and comes back
to poll them (like the tag import), then stages, merges and finishes in one attempt."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from plugin.backfill.importer import BUSY, WAITING_FOR_PLATFORM, advance
from plugin.backfill.sources import source_for
from plugin.outbox.context import Deliverer, DeliveryContext, Later
from plugin.outbox.models import HISTORY_IMPORT, OutboxItem

# While the platform runs an export the row polls it, less often the longer it runs; the
# bulk_operations/finish webhook makes the row due at once (plugin.backfill.handlers).
POLL = timedelta(seconds=3)
POLL_MAX = timedelta(seconds=60)
BUSY_WAIT = timedelta(seconds=30)


def deliver_history_import(ctx: DeliveryContext, item: OutboxItem) -> dict[str, Any]:
    payload = item.payload or {}
    run_id = int(payload["run_id"])
    since = datetime.fromisoformat(payload["since"]) if payload.get("since") else None
    ctx.before_call()
    statistics = bool(payload.get("statistics"))
    source = source_for(ctx.runtime, ctx.shop, ctx.client, since, statistics=statistics)
    outcome = advance(ctx.runtime, run_id, source)
    if outcome == WAITING_FOR_PLATFORM:
        raise Later(poll_delay(item, ctx.now), "waiting for the platform's export")
    if outcome == BUSY:
        raise Later(BUSY_WAIT, "another process advances this import")
    return {"run_id": run_id, "state": "done"}


def poll_delay(item: OutboxItem, now: datetime) -> timedelta:
    """A tenth of how long the row has been at it, between POLL and POLL_MAX."""
    waited = now - (item.queued_at or item.created_at)
    return min(max(waited / 10, POLL), POLL_MAX)


DELIVERERS: dict[str, Deliverer] = {HISTORY_IMPORT: deliver_history_import}
