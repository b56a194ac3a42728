"""Merging staged orders and their lines, with the owners the webhook path would give them.

Per batch: stub customers for owners not stored yet, the orders upserted over older
versions (a deleted order stays deleted; a redacted person's order is anonymised; an
anonymised order stays so), then the lines of the orders this batch wrote replaced, joined
to their order by platform id whatever order the lines were staged in.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    case,
    delete,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session

from plugin.backfill.merge_people import COUNTERS, WINDOW, at, not_tombstoned
from plugin.backfill.models import StagedOrder, StagedOrderLine
from plugin.db import insert_for
from plugin.profiles.models import Customer, Order, OrderLine, Refund, Tombstone

SO, SL = StagedOrder.__table__, StagedOrderLine.__table__
OT, C, T = Order.__table__, Customer.__table__, Tombstone.__table__
REDACTED = "redacted"
# Columns copied as they are; owner and personal columns are decided below.
PLAIN = (
    "name",
    "currency",
    "total_minor",
    "original_total_minor",
    "discount_minor",
    "has_discount",
    "financial_status",
    "cancelled_at",
    "test",
    "source_name",
    "discount_codes",
    "refund_ids",
    "app_id",
    "location_id",
    "ordered_at",
    "platform_updated_at",
    "version",
)
PERSONAL = ("email", "email_cf")
TOKENS = ("checkout_token", "cart_token")  # not exported before API 2026-10: kept as stored


def merge_orders(
    session: Session, shop_id: int, run_id: int, lo: int, hi: int, now: datetime
) -> None:
    batch = (SO.c.run_id == run_id, SO.c.seq.between(lo, hi))
    _add_stub_customers(session, shop_id, batch, now)
    _upsert_orders(session, shop_id, batch)
    _replace_lines(session, shop_id, run_id, lo, hi)
    _subtract_unlisted_refunds(session, shop_id, batch)


def _add_stub_customers(
    session: Session, shop_id: int, batch: tuple[Any, ...], now: datetime
) -> None:
    """Owners not stored yet become empty customers (filled by their customer line, if any)."""
    names = ["shop_id", "platform_id", "locale", *COUNTERS, *WINDOW, "created_at", "updated_at"]
    query = (
        select(
            literal(shop_id),
            SO.c.customer_platform_id,
            func.min(SO.c.locale),
            *(literal(0) for _ in COUNTERS + WINDOW),
            at(now),
            at(now),
        )
        .where(
            *batch,
            SO.c.customer_platform_id.is_not(None),
            not_tombstoned("customer", shop_id, SO.c.customer_tomb_key),
        )
        .group_by(SO.c.customer_platform_id)
    )
    stmt = insert_for(session, C).from_select(names, query)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["shop_id", "platform_id"]))


def _upsert_orders(session: Session, shop_id: int, batch: tuple[Any, ...]) -> None:
    gone = T.alias("gone")  # the owner's tombstone, if any
    redacted = gone.c.reason == REDACTED
    owner_id = case((redacted, null()), else_=C.c.id)
    owner_pid = case((redacted, null()), else_=SO.c.customer_platform_id)
    personal = [case((redacted, null()), else_=SO.c[c]) for c in PERSONAL]
    anonymized = case((redacted, true()), else_=false())
    names = ["shop_id", "platform_id", "customer_id", "customer_platform_id", *PERSONAL]
    names += ["anonymized", "net_total_minor", *PLAIN]
    exprs = [literal(shop_id), SO.c.platform_id, owner_id, owner_pid, *personal, anonymized]
    exprs += [SO.c.total_minor, *(SO.c[c] for c in PLAIN)]
    query = (
        select(*exprs)
        .select_from(SO)
        .outerjoin(
            gone,
            and_(
                gone.c.shop_id == shop_id,
                gone.c.kind == "customer",
                gone.c.platform_id == SO.c.customer_tomb_key,
            ),
        )
        .outerjoin(
            C,
            and_(
                C.c.shop_id == shop_id,
                C.c.platform_id == SO.c.customer_platform_id,
                gone.c.platform_id.is_(None),
            ),
        )
        .where(*batch, not_tombstoned("order", shop_id, SO.c.tomb_key))
    )
    stmt = insert_for(session, OT).from_select(names, query)
    ex = stmt.excluded
    kept = OT.c.anonymized.is_(True)  # anonymised by a redaction: it stays so
    sets: dict[str, Any] = {c: ex[c] for c in PLAIN}
    sets["net_total_minor"] = ex.total_minor
    for column in ("customer_id", "customer_platform_id", *PERSONAL):
        sets[column] = case((kept, null()), else_=ex[column])
    for column in TOKENS:
        sets[column] = case((or_(kept, ex.anonymized.is_(True)), null()), else_=OT.c[column])
    sets["anonymized"] = or_(kept, ex.anonymized.is_(True))
    stmt = stmt.on_conflict_do_update(
        index_elements=["shop_id", "platform_id"],
        set_=sets,
        where=or_(OT.c.version.is_(None), OT.c.version < ex.version),
    )
    session.execute(stmt)


def _written(shop_id: int, run_id: int, lo: int, hi: int) -> Any:
    """Orders of the batch whose stored version is the staged one: this import wrote them."""
    return (
        select(OT.c.id)
        .join(SO, and_(SO.c.platform_id == OT.c.platform_id, SO.c.version == OT.c.version))
        .where(OT.c.shop_id == shop_id, SO.c.run_id == run_id, SO.c.seq.between(lo, hi))
    )


def _replace_lines(session: Session, shop_id: int, run_id: int, lo: int, hi: int) -> None:
    session.execute(
        delete(OrderLine).where(OrderLine.order_id.in_(_written(shop_id, run_id, lo, hi)))
    )
    columns = [
        "platform_id",
        "product_platform_id",
        "variant_platform_id",
        "title",
        "vendor",
        "quantity",
        "price_minor",
        "discount_minor",
    ]
    query = (
        select(literal(shop_id), OT.c.id, *(SL.c[c] for c in columns))
        .join(SO, and_(SO.c.run_id == SL.c.run_id, SO.c.platform_id == SL.c.order_platform_id))
        .join(
            OT,
            and_(
                OT.c.shop_id == shop_id,
                OT.c.platform_id == SO.c.platform_id,
                OT.c.version == SO.c.version,
            ),
        )
        .where(SL.c.run_id == run_id, SO.c.seq.between(lo, hi))
        .order_by(SL.c.seq)
    )
    names = ["shop_id", "order_id", *columns]
    session.execute(insert_for(session, OrderLine.__table__).from_select(names, query))


def _subtract_unlisted_refunds(session: Session, shop_id: int, batch: tuple[Any, ...]) -> None:
    """Refunds stored from refunds/create that the written order does not list yet still
    count (as plugin.profiles.orders.refresh_net_total); rare, so computed here, and not
    looked for at all in a shop without refunds (most imports: the join cost 4 s at 1M)."""
    if session.scalar(select(Refund.id).where(Refund.shop_id == shop_id).limit(1)) is None:
        return
    rows = session.execute(
        select(OT.c.id, OT.c.total_minor, OT.c.refund_ids, Refund.platform_id, Refund.amount_minor)
        .join(SO, and_(SO.c.platform_id == OT.c.platform_id, SO.c.version == OT.c.version))
        .join(Refund, and_(Refund.shop_id == shop_id, Refund.order_platform_id == OT.c.platform_id))
        .where(OT.c.shop_id == shop_id, *batch)
    ).all()
    unlisted: dict[int, int] = defaultdict(int)
    totals: dict[int, int] = {}
    for row in rows:
        totals[row.id] = row.total_minor
        if row.platform_id not in (row.refund_ids or {}).get("ids", []):
            unlisted[row.id] += row.amount_minor
    values = [{"oid": oid, "net": totals[oid] - unlisted[oid]} for oid in totals]
    if values:
        net: Any = bindparam("net")
        stmt = update(Order).where(Order.id == bindparam("oid")).values(net_total_minor=net)
        session.connection().execute(stmt, values)
