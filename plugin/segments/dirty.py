"""Customers the next incremental sweep must re-evaluate whatever the clock did: those real
time evaluated, and those whose inputs a job changed outside the event path."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, literal, select
from sqlalchemy.orm import Session

from plugin.db import Unindexed, insert_for
from plugin.profiles.models import Customer
from plugin.segments.models import SegmentDirty


def mark_dirty_where(
    session: Session, shop_id: int, *where: ColumnElement[bool], by_id: bool = False
) -> None:
    """Remember the shop's customers matching `where` (one INSERT … SELECT). With `by_id`
    (`where` names their ids or an id range) the ids lead: SQLite would otherwise read
    the whole shop through a covering `shop_id` index for a few customers."""
    shop = Unindexed(Customer.shop_id) if by_id else Customer.shop_id
    chosen = select(literal(shop_id), Customer.id).where(shop == shop_id, *where)
    stmt = (
        insert_for(session, SegmentDirty)
        .from_select(["shop_id", "customer_id"], chosen)
        .on_conflict_do_nothing()
    )
    session.execute(stmt)


def dirty_ids(session: Session, shop_id: int) -> list[int]:
    """The shop's remembered customers, in id order."""
    stmt = select(SegmentDirty.customer_id).where(SegmentDirty.shop_id == shop_id)
    return list(session.scalars(stmt.order_by(SegmentDirty.customer_id)))


def forget_dirty(session: Session, shop_id: int, lo: int, hi: int | None) -> None:
    """Forget the customers of (lo, hi]: the sweep batch that evaluated them commits this."""
    stmt = delete(SegmentDirty).where(
        SegmentDirty.shop_id == shop_id, SegmentDirty.customer_id > lo
    )
    if hi is not None:
        stmt = stmt.where(SegmentDirty.customer_id <= hi)
    session.execute(stmt.execution_options(synchronize_session=False))


def forget_ids(session: Session, shop_id: int, customer_ids: Sequence[int]) -> None:
    """Forget these customers: the transaction that evaluated them commits this."""
    stmt = delete(SegmentDirty).where(
        SegmentDirty.shop_id == shop_id, SegmentDirty.customer_id.in_(list(customer_ids))
    )
    session.execute(stmt.execution_options(synchronize_session=False))
