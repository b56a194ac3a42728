"""Inbox services: store verified deliveries, release them at install, keep the table small."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, delete, exists, func, select, update
from sqlalchemy.orm import Session

from plugin.errors import NotFoundError
from plugin.inbox.models import (
    AWAITING_INSTALL,
    DEAD,
    DONE,
    DUPLICATE,
    IGNORED,
    PENDING,
    InboxRow,
)
from plugin.inbox.receipt import IncomingDelivery, delivery_values, insert_delivery
from plugin.shops.models import PENDING as SHOP_PENDING
from plugin.shops.models import Shop

PROCESSED = (DONE, DUPLICATE, IGNORED)


@dataclass(frozen=True)
class InboxStatus:
    shop_domain: str
    shop_known: bool
    counts: dict[str, int]
    oldest_pending_at: datetime | None

    def oldest_pending_age(self, now: datetime) -> timedelta | None:
        return now - self.oldest_pending_at if self.oldest_pending_at else None


def find_shop(session: Session, platform: str, shop_domain: str) -> Shop | None:
    return session.scalar(select(Shop).where(Shop.platform == platform, Shop.domain == shop_domain))


def can_process(shop: Shop | None) -> bool:
    """Deliveries wait until the shop has been installed once.

    Uninstalled shops still count: `shop/redact` and `customers/redact` arrive after the
    uninstall and must be processed.
    """
    return shop is not None and shop.install_state != SHOP_PENDING


def record_delivery(session: Session, incoming: IncomingDelivery) -> bool:
    """Store a verified delivery once per (platform, shop, webhook id) and commit; True
    when new. The shop's id and the row's status are read by the insert itself."""
    inserted = insert_delivery(session.connection(), delivery_values(incoming))
    session.commit()
    return inserted


def release_awaiting_install(session: Session, platform: str, shop_domain: str) -> int:
    """Make a newly installed shop's early deliveries due now. The caller commits."""
    stmt = (
        update(InboxRow)
        .where(
            InboxRow.platform == platform,
            InboxRow.shop_domain == shop_domain,
            InboxRow.status == AWAITING_INSTALL,
        )
        .values(status=PENDING, next_attempt_at=None)
    )
    return _rowcount(session, stmt)


def release_installed_shops(session: Session) -> int:
    """Catch deliveries that raced an install (stored as awaiting just as it committed)."""
    installed = exists().where(
        Shop.platform == InboxRow.platform,
        Shop.domain == InboxRow.shop_domain,
        Shop.install_state != SHOP_PENDING,
    )
    stmt = (
        update(InboxRow)
        .where(InboxRow.status == AWAITING_INSTALL, installed)
        .values(status=PENDING, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(session, stmt)


def purge_never_installed(session: Session, now: datetime, days: int) -> int:
    """Delete deliveries of shops that never installed within `days`. The caller commits."""
    stmt = delete(InboxRow).where(
        InboxRow.status == AWAITING_INSTALL,
        InboxRow.received_at < now - timedelta(days=days),
    )
    return _rowcount(session, stmt)


def reduce_processed_payloads(session: Session, now: datetime, days: int) -> int:
    """Drop the bodies of rows processed over `days` ago, keeping their metadata."""
    stmt = (
        update(InboxRow)
        .where(
            InboxRow.status.in_(PROCESSED),
            InboxRow.processed_at < now - timedelta(days=days),
            InboxRow.payload.is_not(None),
        )
        .values(payload=None)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(session, stmt)


def retry_dead(
    session: Session, platform: str, shop_domain: str, ids: Sequence[int] | None = None
) -> int:
    """Give a shop's dead rows (all, or only those of `ids`) a fresh set of attempts (after
    a fix). The caller commits."""
    stmt = update(InboxRow).where(
        InboxRow.platform == platform,
        InboxRow.shop_domain == shop_domain,
        InboxRow.status == DEAD,
    )
    if ids is not None:
        stmt = stmt.where(InboxRow.id.in_(list(ids)))
    return _rowcount(session, stmt.values(status=PENDING, attempts=0, next_attempt_at=None))


@dataclass(frozen=True)
class DeadDelivery:
    id: int
    topic: str
    received_at: datetime
    attempts: int
    last_error: str | None


def dead_deliveries(
    session: Session, platform: str, shop_domain: str, limit: int = 50
) -> tuple[list[DeadDelivery], int]:
    """The shop's latest dead deliveries (no payload) and how many there are in all."""
    scope = (
        InboxRow.platform == platform,
        InboxRow.shop_domain == shop_domain,
        InboxRow.status == DEAD,
    )
    total = session.scalar(select(func.count()).select_from(InboxRow).where(*scope)) or 0
    rows = session.execute(
        select(InboxRow.id, InboxRow.topic, InboxRow.received_at)
        .add_columns(InboxRow.attempts, InboxRow.last_error)
        .where(*scope)
        .order_by(InboxRow.id.desc())
        .limit(limit)
    )
    return [DeadDelivery(*row) for row in rows], int(total)


def inbox_status(session: Session, shop_domain: str, platform: str = "shopify") -> InboxStatus:
    """Counts by status and the oldest pending delivery of one shop."""
    scope = (InboxRow.platform == platform, InboxRow.shop_domain == shop_domain)
    rows = session.execute(
        select(InboxRow.status, func.count()).where(*scope).group_by(InboxRow.status)
    ).all()
    counts = {status: int(n) for status, n in rows}
    shop_known = find_shop(session, platform, shop_domain) is not None
    if not shop_known and not counts:
        raise NotFoundError(f"no shop and no deliveries known for {shop_domain}")
    oldest = session.scalar(
        select(InboxRow.received_at)
        .where(*scope, InboxRow.status == PENDING)
        .order_by(InboxRow.received_at)
        .limit(1)
    )
    return InboxStatus(shop_domain, shop_known, counts, oldest)


def _rowcount(session: Session, stmt: Executable) -> int:
    return cast(CursorResult[Any], session.execute(stmt)).rowcount
