"""The outbox delivery loop: claim due rows, hand each to its kind's deliverer, record how
it went — one transaction to claim, then each row on its own, committed before the next.

A deliverer reads through `ctx.session`, calls the shop through `ctx.client` (which ends
the open transaction first: no shop call ever runs inside one) and returns what it did,
stored on the row for the audit. It raises PlatformError to fail the attempt, or `Later`
when the work is under way and the row should come back (a bulk operation running).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from plugin.db import utcnow
from plugin.deliverers import all_deliverers
from plugin.errors import PlatformError, ReauthRequired
from plugin.outbox.context import Deliverer, DeliveryContext, Later, PacedClient
from plugin.outbox.models import OutboxItem
from plugin.outbox.pacing import PACER, Pacer, PacingWait
from plugin.outbox.services import cancel_for_shop, claim_due, complete, fail, later
from plugin.runtime import Runtime
from plugin.shops.models import INSTALLED, NEEDS_REAUTH, Shop

BATCH_SIZE = 50
REAUTH_PAUSE = timedelta(minutes=15)  # how often a paused shop's rows look again

log = logging.getLogger(__name__)


def deliver_due(
    runtime: Runtime,
    *,
    now: datetime | None = None,
    limit: int = BATCH_SIZE,
    pacer: Pacer | None = None,
) -> int:
    """Deliver up to `limit` due rows; returns how many were claimed."""
    now = now or utcnow()
    with runtime.sessions.begin() as session:
        ids = [item.id for item in claim_due(session, now, limit)]
    deliverers = all_deliverers()
    for item_id in ids:
        _deliver(runtime, item_id, now, deliverers, pacer or PACER)
    if ids:
        log.info("outbox.batch claimed=%d", len(ids))
    return len(ids)


def drain(runtime: Runtime, *, now: datetime | None = None, pacer: Pacer | None = None) -> int:
    """Deliver until nothing is due at `now`; returns how many rows were claimed in all."""
    total = 0
    while claimed := deliver_due(runtime, now=now, pacer=pacer):
        total += claimed
    return total


def _deliver(
    runtime: Runtime, item_id: int, now: datetime, deliverers: dict[str, Deliverer], pacer: Pacer
) -> None:
    with runtime.sessions() as session:
        item = session.get(OutboxItem, item_id)
        shop = session.get(Shop, item.shop_id) if item is not None else None
        if item is None or shop is None:
            return
        if shop.install_state == NEEDS_REAUTH:
            _pause(session, item, now, shop.reauth_reason or "the shop needs reauthorisation")
            return
        if shop.install_state != INSTALLED:
            _cancel(session, shop, now, f"the shop is {shop.install_state}")
            return
        deliverer = deliverers.get(item.kind)
        if deliverer is None:
            unknown = PlatformError(f"no deliverer for {item.kind}", transient=False)
            fail(session, item, unknown, now)
            session.commit()
            return
        client = PacedClient(runtime, shop, session, pacer)
        ctx = DeliveryContext(session, shop, runtime, client, now)
        _attempt(ctx, item, deliverer)


def _attempt(ctx: DeliveryContext, item: OutboxItem, deliverer: Deliverer) -> None:
    session, now = ctx.session, ctx.now
    try:
        result = deliverer(ctx, item)
    except Later as wait:
        later(session, item, wait.delay, now, wait.note)
    except PacingWait as wait:
        session.rollback()
        later(session, item, timedelta(seconds=wait.seconds), now)
    except ReauthRequired as exc:
        session.rollback()
        _pause(session, item, now, exc.detail)
        return
    except Exception as exc:
        session.rollback()
        if isinstance(exc, PlatformError) and exc.status_code == 401:
            from plugin.shops.tokens import mark_needs_reauth

            mark_needs_reauth(session, ctx.shop.id, f"the shop refused the token: {exc.detail}")
            _pause(session, item, now, exc.detail)
            return
        if ctx.note:
            item.result = {"attempted": ctx.note}
        fail(session, item, exc, now)
        log.warning(
            "outbox.attempt_failed id=%s kind=%s attempts=%d state=%s error=%s",
            item.id,
            item.kind,
            item.attempts,
            item.state,
            type(exc).__name__,
        )
    else:
        complete(session, item, result, now)
    session.commit()


def _pause(session: Session, item: OutboxItem, now: datetime, reason: str) -> None:
    """The shop needs reauthorisation: what it is owed waits (no attempt used) until the
    merchant opens the app again, and goes dead once older than the outbox's age limit."""
    later(session, item, REAUTH_PAUSE, now, f"paused: {reason}")
    session.commit()


def _cancel(session: Session, shop: Shop, now: datetime, reason: str) -> None:
    count = cancel_for_shop(session, shop.id, now, reason)
    session.commit()
    log.info("outbox.cancelled shop=%s rows=%d reason=%s", shop.domain, count, reason)
