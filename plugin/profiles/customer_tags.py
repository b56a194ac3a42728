"""The shop's own customer tags, each with its own version, so events may arrive in any order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from plugin.db import insert_for
from plugin.profiles.models import Customer, CustomerTag


def tag_key(tag: str) -> str:
    return tag.strip().casefold()


def set_tags(
    session: Session, customer: Customer, changes: dict[str, bool], version: str | None
) -> None:
    """Mark tags present or removed, each only over an older version of that same tag.

    A removal is kept as a row (`present=False`) with its version: a late `tags_added`
    older than the removal changes nothing.
    """
    rows = {
        tag_key(tag): {
            "shop_id": customer.shop_id,
            "customer_id": customer.id,
            "tag": tag.strip(),
            "tag_cf": tag_key(tag),
            "present": present,
            "version": version,
        }
        for tag, present in changes.items()
        if tag.strip()
    }
    upsert_tag_rows(session, list(rows.values()))


def upsert_tag_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Store `customer_tags` rows (shop_id, customer_id, tag, tag_cf, present, version),
    each only over an older version of that customer's tag; one statement for all rows."""
    if not rows:
        return
    stmt = insert_for(session, CustomerTag.__table__)
    stmt = stmt.on_conflict_do_update(
        index_elements=["customer_id", "tag_cf"],
        set_={
            "tag": stmt.excluded.tag,
            "present": stmt.excluded.present,
            "version": stmt.excluded.version,
        },
        where=or_(CustomerTag.version.is_(None), CustomerTag.version < stmt.excluded.version),
    )
    session.execute(stmt, rows)


def replace_tags(session: Session, customer: Customer, tags: Iterable[str], version: str) -> None:
    """A full tag list (customer payloads before API 2025-01): unlisted tags are removed."""
    listed = {tag_key(t): t for t in tags if t.strip()}
    known = session.scalars(
        select(CustomerTag.tag).where(
            CustomerTag.shop_id == customer.shop_id, CustomerTag.customer_id == customer.id
        )
    ).all()
    changes = {t: False for t in known if tag_key(t) not in listed}
    changes.update(dict.fromkeys(listed.values(), True))
    set_tags(session, customer, changes, version)


def present_tags(session: Session, shop_id: int, customer_id: int) -> list[str]:
    return list(
        session.scalars(
            select(CustomerTag.tag)
            .where(
                CustomerTag.shop_id == shop_id,
                CustomerTag.customer_id == customer_id,
                CustomerTag.present.is_(True),
            )
            .order_by(CustomerTag.tag_cf)
        )
    )
