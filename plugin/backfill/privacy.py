"""The history import's staged rows as a place of personal data: a redaction during an
import erases the person's staged copies. The staged customer row goes; staged orders
lose their personal fields and owner id but keep the owner's hashed tombstone key, so the
merge anonymises them as the webhook path would."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, select, update
from sqlalchemy.orm import Session

from plugin.backfill.models import (
    StagedAddress,
    StagedCompany,
    StagedCustomer,
    StagedMetafield,
    StagedOrder,
    StagedStoreCredit,
)

STAGED_PERSONAL_TABLES = (
    "backfill_customers",
    "backfill_addresses",
    "backfill_metafields",
    "backfill_companies",
    "backfill_store_credit",
    "backfill_orders",
)
# Staged tags and order lines name no one once the rows above are erased.
STAGED_OTHER_TABLES = ("backfill_tags", "backfill_order_lines")


def erase_staged(session: Session, shop_id: int, platform_id: str, emails: tuple[str, ...]) -> int:
    matches = [StagedOrder.customer_platform_id == platform_id]
    if emails:
        matches.append(StagedOrder.email_cf.in_([e.casefold() for e in emails]))
    orders = update(StagedOrder).where(StagedOrder.shop_id == shop_id, or_(*matches))
    customer = delete(StagedCustomer).where(
        StagedCustomer.shop_id == shop_id, StagedCustomer.platform_id == platform_id
    )
    addresses = delete(StagedAddress).where(
        StagedAddress.shop_id == shop_id, StagedAddress.customer_platform_id == platform_id
    )
    metafields = delete(StagedMetafield).where(
        StagedMetafield.shop_id == shop_id, StagedMetafield.customer_platform_id == platform_id
    )
    companies = delete(StagedCompany).where(
        StagedCompany.shop_id == shop_id, StagedCompany.customer_platform_id == platform_id
    )
    credit = StagedStoreCredit
    accounts = select(credit.account_id).where(
        credit.shop_id == shop_id, credit.customer_platform_id == platform_id
    )
    credits = delete(credit).where(credit.shop_id == shop_id, credit.account_id.in_(accounts))
    owned = delete(credit).where(
        credit.shop_id == shop_id, credit.customer_platform_id == platform_id
    )
    erased = orders.values(email=None, email_cf=None, customer_platform_id=None)
    staged = (erased, customer, addresses, metafields, companies, credits, owned)
    return sum(_count(session, stmt) for stmt in staged)


def _count(session: Session, stmt: Any) -> int:
    return cast(CursorResult[Any], session.execute(stmt)).rowcount
