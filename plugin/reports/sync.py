"""How current a shop's data is, for the admin's Settings page: the webhook inbox (counts,
oldest pending, last delivery per topic) and the latest history import and reconcile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.backfill import runs
from plugin.inbox.models import InboxRow
from plugin.inbox.services import InboxStatus, inbox_status
from plugin.shops.models import Shop


@dataclass(frozen=True)
class SyncStatus:
    inbox: InboxStatus
    last_webhooks: list[tuple[str, datetime]]  # (topic, last received), newest first
    history: runs.RunProgress | None  # the latest history import
    reconcile: runs.RunProgress | None  # the latest reconcile


def last_webhooks(session: Session, shop: Shop) -> list[tuple[str, datetime]]:
    """The last delivery received per topic (one grouped query)."""
    last = func.max(InboxRow.received_at)
    stmt = (
        select(InboxRow.topic, last)
        .where(InboxRow.platform == shop.platform, InboxRow.shop_domain == shop.domain)
        .group_by(InboxRow.topic)
        .order_by(last.desc())
    )
    return [(topic, at) for topic, at in session.execute(stmt)]


def sync_status(session: Session, shop: Shop) -> SyncStatus:
    """What `shopseg inbox status` and `shopseg status` print, for one shop."""
    return SyncStatus(
        inbox_status(session, shop.domain, shop.platform),
        last_webhooks(session, shop),
        runs.progress(session, shop.id),
        runs.progress(session, shop.id, reconcile=True),
    )
