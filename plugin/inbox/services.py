"""Inbox services: store verified deliveries, release them at install, keep the table small."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, delete, exists, func, select, update
from sqlalchemy.orm import Session

from plugin.crypto import decrypt
from plugin.db import insert_for
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
from plugin.settings import Settings
from plugin.shops.models import PENDING as SHOP_PENDING
from plugin.shops.models import Shop

PROCESSED = (DONE, DUPLICATE, IGNORED)


@dataclass(frozen=True)
class IncomingDelivery:
    """A verified delivery as the receiver hands it over (platform-neutral fields)."""

    platform: str
    shop_domain: str
    topic: str
    webhook_id: str
    event_id: str | None
    api_version: str | None
    triggered_at: datetime | None
    headers: dict[str, str]
    body: str | None
    # Why a verified body cannot even be stored (not text): parked as dead at receipt.
    unstorable: str | None = None


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


def webhook_secrets(
    session: Session, settings: Settings, platform: str, shop_domain: str
) -> list[str]:
    """Secrets a delivery from this shop may be signed with, most likely first.

    A merchant's custom app signs with its own secret; everything else with the app's API
    secret (and the previous one while a rotation settles).
    """
    shop = find_shop(session, platform, shop_domain)
    if shop is not None and shop.webhook_secret_enc:
        return [decrypt(settings.secret_key, shop.webhook_secret_enc)]
    return settings.api_secrets


def record_delivery(session: Session, incoming: IncomingDelivery) -> bool:
    """Store a verified delivery once per (platform, shop, webhook id); True when new."""
    shop = find_shop(session, incoming.platform, incoming.shop_domain)
    values: dict[str, Any] = {
        "platform": incoming.platform,
        "shop_domain": incoming.shop_domain,
        "shop_id": shop.id if shop else None,
        "topic": incoming.topic,
        "webhook_id": incoming.webhook_id,
        "event_id": incoming.event_id,
        "api_version": incoming.api_version,
        "triggered_at": incoming.triggered_at,
        "headers": incoming.headers,
        "payload": incoming.body,
        "status": _initial_status(incoming, shop),
        "last_error": incoming.unstorable,
    }
    stmt = (
        insert_for(session, InboxRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["platform", "shop_domain", "webhook_id"])
        .returning(InboxRow.id)  # rowcount of an ORM insert is -1 on psycopg
    )
    inserted = session.execute(stmt).scalar_one_or_none() is not None
    session.commit()
    return inserted


def _initial_status(incoming: IncomingDelivery, shop: Shop | None) -> str:
    if incoming.unstorable is not None:
        return DEAD  # Shopify would only send the same bytes again: answer 200, keep the reason
    return PENDING if can_process(shop) else AWAITING_INSTALL


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
