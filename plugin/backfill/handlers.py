"""Webhook events the history import listens to: the platform saying an export finished."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.backfill.models import WAITING, BackfillPhase
from plugin.events import Delivery, Event, ExportFinished
from plugin.handling import Context, Handler
from plugin.outbox.models import HISTORY_IMPORT, PENDING, SENDING, OutboxItem
from plugin.shops.models import Shop

log = logging.getLogger(__name__)


def apply_export_finished(
    session: Session, shop: Shop, event: Event, delivery: Delivery, ctx: Context
) -> None:
    """Bring the import waiting for this export forward: its outbox row is due now rather
    than at its next poll. The event names the operation, not its result: the import asks
    for the url itself (`bulkOperation(id:)`), outside this transaction."""
    assert isinstance(event, ExportFinished)
    runs = session.scalars(
        select(BackfillPhase.run_id).where(
            BackfillPhase.shop_id == shop.id,
            BackfillPhase.operation_id == event.operation_id,
            BackfillPhase.state == WAITING,
        )
    ).all()
    if not runs:  # another feature's operation, or a phase that polled it already
        log.info("backfill.export_finished_unknown shop=%s status=%s", shop.domain, event.status)
        return
    rows = session.scalars(  # a shop has one or two: its import, maybe a reconcile
        select(OutboxItem).where(
            OutboxItem.shop_id == shop.id,
            OutboxItem.kind == HISTORY_IMPORT,
            OutboxItem.state.in_((PENDING, SENDING)),
        )
    )
    for row in rows:
        if (row.payload or {}).get("run_id") in runs and row.next_attempt_at > ctx.now:
            row.next_attempt_at = ctx.now
    log.info("backfill.export_finished shop=%s runs=%s status=%s", shop.domain, runs, event.status)


HANDLERS: dict[type[Event], Handler] = {ExportFinished: apply_export_finished}
