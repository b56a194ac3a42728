"""Merging what an import or the periodic refresh read besides profiles: each customer's B2B
companies, replaced whole for every customer the export listed (one DELETE, one INSERT …
SELECT per batch)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, delete, literal, select
from sqlalchemy.orm import Session

from plugin.backfill.models import StagedCompany
from plugin.db import insert_for
from plugin.profiles.facts_models import CustomerCompany
from plugin.profiles.models import Customer

C = cast(Table, Customer.__table__)
SB = cast(Table, StagedCompany.__table__)


def _listed(shop_id: int) -> Any:
    """Staged companies joined to the stored customers they name."""
    return SB.join(C, and_(C.c.shop_id == shop_id, C.c.platform_id == SB.c.customer_platform_id))


def merge_companies(
    session: Session, shop_id: int, run_id: int, lo: int, hi: int, _now: datetime
) -> None:
    """The listed customers' companies as the export gave them (none: the list is empty).
    Nothing of a customer the export did not list changes, so a shop that refused the
    export (no B2B) keeps what it had."""
    in_batch = and_(SB.c.run_id == run_id, SB.c.seq.between(lo, hi))
    listed = select(C.c.id).select_from(_listed(shop_id)).where(in_batch)
    session.execute(
        delete(CustomerCompany).where(
            CustomerCompany.shop_id == shop_id, CustomerCompany.customer_id.in_(listed)
        )
    )
    rows = (
        select(literal(shop_id), C.c.id, SB.c.company_id)
        .select_from(_listed(shop_id))
        .where(in_batch, SB.c.company_id.is_not(None))
    )
    names = ["shop_id", "customer_id", "company_id"]
    session.execute(insert_for(session, CustomerCompany.__table__).from_select(names, rows))
