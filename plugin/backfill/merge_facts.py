"""Merging what an import or the periodic refresh read besides profiles: each customer's B2B
companies and store credit (accounts and credits), replaced whole for every customer the
export listed (a DELETE and an INSERT … SELECT per table per batch)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, delete, literal, select
from sqlalchemy.orm import Session

from plugin.backfill.models import StagedCompany, StagedStoreCredit
from plugin.db import insert_for
from plugin.profiles.facts_models import CustomerCompany, StoreCredit, StoreCreditAccount
from plugin.profiles.models import Customer

C = cast(Table, Customer.__table__)
SB = cast(Table, StagedCompany.__table__)
SS = cast(Table, StagedStoreCredit.__table__)


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


def merge_store_credit(
    session: Session, shop_id: int, run_id: int, lo: int, hi: int, _now: datetime
) -> None:
    """The accounts and credits of the customers the export listed on lines lo..hi (an
    account's and a credit's own lines may come anywhere: they are found through the
    owner). A shop that refused the export listed nobody: nothing changes."""
    owner = SS.alias("owner")
    owners = owner.join(
        C, and_(C.c.shop_id == shop_id, C.c.platform_id == owner.c.customer_platform_id)
    )
    in_batch = and_(owner.c.run_id == run_id, owner.c.kind == "owner", owner.c.seq.between(lo, hi))
    listed = select(C.c.id).select_from(owners).where(in_batch)
    for table in (StoreCreditAccount, StoreCredit):
        session.execute(
            delete(table).where(table.shop_id == shop_id, table.customer_id.in_(listed))
        )
    account = SS.alias("account")
    accounts = owners.join(
        account,
        and_(
            account.c.run_id == run_id,
            account.c.kind == "account",
            account.c.customer_platform_id == owner.c.customer_platform_id,
        ),
    )
    columns = [account.c.account_id, account.c.currency, account.c.exponent, account.c.amount_minor]
    names = ["shop_id", "customer_id", "account_id", "currency", "exponent", "balance_minor"]
    rows = select(literal(shop_id), C.c.id, *columns).select_from(accounts).where(in_batch)
    session.execute(insert_for(session, StoreCreditAccount.__table__).from_select(names, rows))
    credit = SS.alias("credit")
    credits = accounts.join(
        credit,
        and_(
            credit.c.run_id == run_id,
            credit.c.kind == "credit",
            credit.c.account_id == account.c.account_id,
        ),
    )
    columns = [credit.c.account_id, credit.c.credited_at, credit.c.expires_at]
    names = ["shop_id", "customer_id", "account_id", "credited_at", "expires_at"]
    rows = (
        select(literal(shop_id), C.c.id, *columns, credit.c.amount_minor)
        .select_from(credits)
        .where(in_batch)
    )
    names.append("remaining_minor")
    session.execute(insert_for(session, StoreCredit.__table__).from_select(names, rows))
