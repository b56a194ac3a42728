"""Scheduler jobs of the outbox: the delivery loop, and tokens refreshed before they expire
(so a delivery never waits on a refresh)."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import select

from plugin.errors import PlatformError
from plugin.outbox.delivery import deliver_due
from plugin.runtime import Runtime
from plugin.shops.models import INSTALLED, Shop
from plugin.shops.tokens import access_token

# One run delivers batches for about this long: under the job's 2 s interval, so the
# scheduler does not skip (and warn about) runs while the outbox is busy.
DELIVERY_BUDGET_SECONDS = 1.5
REFRESH_AHEAD = timedelta(minutes=15)

log = logging.getLogger(__name__)


def deliver_outbox(runtime: Runtime, now: datetime) -> None:
    """Deliver due rows batch after batch within the budget, the clock moving on from `now`.

    Safe with any number of workers at once: rows are claimed with SKIP LOCKED."""
    start = time.monotonic()
    while time.monotonic() - start < DELIVERY_BUDGET_SECONDS:
        clock = now + timedelta(seconds=time.monotonic() - start)
        if not deliver_due(runtime, now=clock):
            return


def refresh_tokens(runtime: Runtime, now: datetime) -> None:
    """Refresh the expiring tokens of installed shops ahead of time."""
    with runtime.sessions() as session:
        shop_ids = list(
            session.scalars(
                select(Shop.id).where(
                    Shop.install_state == INSTALLED,
                    Shop.refresh_token_enc.is_not(None),
                    Shop.access_token_expires_at < now + REFRESH_AHEAD,
                )
            )
        )
    for shop_id in shop_ids:
        try:
            access_token(runtime, shop_id)
        except PlatformError as exc:  # needs_reauth is recorded by the refresh itself
            log.warning("outbox.token_refresh_failed shop_id=%s error=%s", shop_id, exc.detail)
