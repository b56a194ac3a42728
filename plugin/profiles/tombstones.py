"""Tombstones: deleted, merged or redacted records that later deliveries must not revive.

The platform id is stored hashed with the shop id, so a redaction's tombstone keeps no
identifier of the person while still recognising their later deliveries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.db import insert_for
from plugin.profiles.models import Tombstone


def tombstone_key(shop_id: int, platform_id: str) -> str:
    return hashlib.sha256(f"{shop_id}:{platform_id}".encode()).hexdigest()


def add_tombstone(
    session: Session, shop_id: int, kind: str, platform_id: str, reason: str, version: str | None
) -> None:
    """Record (idempotently) that `kind/platform_id` is gone; a redaction wins over others."""
    values = {
        "shop_id": shop_id,
        "kind": kind,
        "platform_id": tombstone_key(shop_id, platform_id),
        "reason": reason,
        "version": version,
    }
    stmt = insert_for(session, Tombstone).values(**values)
    if reason == "redacted":
        stmt = stmt.on_conflict_do_update(
            index_elements=["shop_id", "kind", "platform_id"], set_={"reason": reason}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=["shop_id", "kind", "platform_id"])
    session.execute(stmt)


def find_tombstones(
    session: Session, shop_id: int, kind: str, platform_ids: Iterable[str]
) -> dict[str, Tombstone]:
    """The tombstones of these records, by platform id; one query."""
    keys = {tombstone_key(shop_id, pid): pid for pid in platform_ids}
    if not keys:
        return {}
    rows = session.scalars(
        select(Tombstone).where(
            Tombstone.shop_id == shop_id,
            Tombstone.kind == kind,
            Tombstone.platform_id.in_(sorted(keys)),
        )
    )
    return {keys[row.platform_id]: row for row in rows}


def find_tombstone(session: Session, shop_id: int, kind: str, platform_id: str) -> Tombstone | None:
    return session.scalar(
        select(Tombstone).where(
            Tombstone.shop_id == shop_id,
            Tombstone.kind == kind,
            Tombstone.platform_id == tombstone_key(shop_id, platform_id),
        )
    )
