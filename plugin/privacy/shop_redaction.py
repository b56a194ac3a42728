"""`shop/redact`: erase every row of a shop that uninstalled the app, from every table."""

from __future__ import annotations

import logging

from sqlalchemy import ColumnElement, Delete, Table, and_, delete, or_, true, update
from sqlalchemy.orm import Session

from plugin.db import Base
from plugin.inbox.models import InboxRow
from plugin.shops.models import INSTALLED, NEEDS_REAUTH, Shop

log = logging.getLogger(__name__)


def installed_now(shop: Shop) -> bool:
    """Installed again after the uninstall the redaction is about (the platform then does
    not send it, but a late or replayed delivery must not wipe a working shop)."""
    if shop.install_state not in (INSTALLED, NEEDS_REAUTH):
        return False
    if shop.uninstalled_at is None:
        return True
    granted = shop.authorized_at or shop.installed_at
    return granted is not None and granted > shop.uninstalled_at


def redact_shop(session: Session, shop: Shop, current_inbox_id: int | None) -> bool:
    """Delete the shop's rows from every table unless it is installed now. Returns whether
    it erased.

    Tables are found from the metadata (a `shop_id` or a `shop_domain` column), so tables
    added later are covered without a change here. The delivery being processed is kept,
    with its payload erased, because the worker still records its outcome on it.
    """
    if installed_now(shop):
        log.info(
            "privacy.shop_redact_skipped shop_id=%s reason=installed_again installed_at=%s",
            shop.id,
            shop.installed_at,
        )
        return False
    for table in reversed(Base.metadata.sorted_tables):
        _delete_shop_rows(session, table, shop, current_inbox_id)
    if current_inbox_id is not None:
        session.execute(
            update(InboxRow)
            .where(InboxRow.id == current_inbox_id)
            .values(payload=None, subject_ids=None, last_error=None)
        )
    session.execute(delete(Shop).where(Shop.id == shop.id))
    log.info("privacy.shop_redacted shop_id=%s", shop.id)
    return True


def _delete_shop_rows(
    session: Session, table: Table, shop: Shop, current_inbox_id: int | None
) -> None:
    columns = table.c
    owned: list[ColumnElement[bool]] = []
    if "shop_id" in columns:
        owned.append(columns.shop_id == shop.id)
    if "shop_domain" in columns:
        same_platform = columns.platform == shop.platform if "platform" in columns else true()
        owned.append(and_(columns.shop_domain == shop.domain, same_platform))
    if not owned:
        return
    stmt = _delete_for(table).where(or_(*owned))
    if table.name == InboxRow.__tablename__ and current_inbox_id is not None:
        stmt = stmt.where(columns.id != current_inbox_id)
    session.execute(stmt)


def _delete_for(table: Table) -> Delete:
    """An ORM delete where the table is mapped, so objects the worker holds in this session
    (claimed inbox rows, loaded profiles) are marked deleted rather than flushed later."""
    for mapper in Base.registry.mappers:
        if mapper.local_table is table:
            return delete(mapper.class_)
    return table.delete()
