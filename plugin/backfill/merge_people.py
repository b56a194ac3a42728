"""Merging staged customers (profile, addresses, metafields, email and SMS consent, totals,
statistics, tags) and products.

One statement per table per batch. Each field group is written only over an older stored
version of that group (plugin.profiles.ownership), exactly as the webhook handlers do, so a
webhook that arrives during the import is neither lost nor applied twice.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    case,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from plugin.backfill.models import (
    StagedAddress,
    StagedCustomer,
    StagedMetafield,
    StagedProduct,
    StagedTag,
)
from plugin.db import UTCDateTime, insert_for
from plugin.profiles.customer_tags import upsert_tag_rows
from plugin.profiles.facts_models import CustomerMetafield
from plugin.profiles.models import (
    Customer,
    CustomerAddress,
    CustomerTag,
    Product,
    ProductTag,
    Tombstone,
)
from plugin.profiles.ownership import CONSENT_COLUMNS, OWNERSHIP, PROFILE_COLUMNS

SC = StagedCustomer.__table__
C = cast(Table, Customer.__table__)
# Columns the ORM fills with Python defaults: an INSERT … SELECT must name them.
COUNTERS = ("orders_count", "total_spent_minor", "abandoned_checkouts_count")
WINDOW = ("spent_365d_minor", "orders_365d")
STATISTICS = ("predicted_spend_tier", "platform_rfm_group")
SMS_COLUMNS = OWNERSHIP["sms_consent"].columns


def not_tombstoned(kind: str, shop_id: int, key: Any) -> ColumnElement[bool]:
    t = Tombstone.__table__
    return ~exists().where(t.c.shop_id == shop_id, t.c.kind == kind, t.c.platform_id == key)


def at(now: datetime) -> Any:
    return literal(now, type_=UTCDateTime())


def merge_customers(
    session: Session, shop_id: int, run_id: int, lo: int, hi: int, now: datetime
) -> None:
    """Upsert the staged customers of lines lo..hi, then their addresses and tags."""
    staged = [
        *PROFILE_COLUMNS,
        "locale",
        "profile_version",
        *CONSENT_COLUMNS,
        "consent_version",
        "reported_orders_count",
        "reported_amount_spent_minor",
        *STATISTICS,
        "statistics_version",
        *SMS_COLUMNS,
        "sms_consent_version",
    ]
    names = ["shop_id", "platform_id", *staged, "summary_version", *COUNTERS, *WINDOW]
    names += ["created_at", "updated_at"]
    exprs = [literal(shop_id), SC.c.platform_id, *(SC.c[n] for n in staged)]
    exprs += [SC.c.statistics_version, *(literal(0) for _ in COUNTERS + WINDOW), at(now), at(now)]
    query = select(*exprs).where(
        SC.c.run_id == run_id,
        SC.c.seq.between(lo, hi),
        not_tombstoned("customer", shop_id, SC.c.tomb_key),
    )
    stmt = insert_for(session, C).from_select(names, query)
    stmt = stmt.on_conflict_do_update(
        index_elements=["shop_id", "platform_id"], set_=_customer_updates(stmt.excluded, now)
    )
    session.execute(stmt)
    merge_customer_addresses(session, shop_id, run_id, lo, hi)
    merge_customer_metafields(session, shop_id, run_id, lo, hi)
    merge_customer_tags(session, shop_id, run_id, lo, hi)


def _written(shop_id: int, run_id: int, lo: int, hi: int) -> Any:
    """Ids of the customers whose profile this batch wrote (their stored version is the
    staged one)."""
    return (
        select(C.c.id)
        .join(
            SC,
            and_(SC.c.platform_id == C.c.platform_id, SC.c.profile_version == C.c.profile_version),
        )
        .where(C.c.shop_id == shop_id, SC.c.run_id == run_id, SC.c.seq.between(lo, hi))
    )


def _written_join(staged: Any, run_id: int, shop_id: int) -> Any:
    """A staged child table joined to the customers whose profile this batch wrote."""
    owner = SC.c.platform_id == staged.c.customer_platform_id
    return staged.join(SC, and_(SC.c.run_id == staged.c.run_id, owner)).join(
        C,
        and_(
            C.c.shop_id == shop_id,
            C.c.platform_id == SC.c.platform_id,
            C.c.profile_version == SC.c.profile_version,
        ),
    )


def merge_customer_metafields(
    session: Session, shop_id: int, run_id: int, lo: int, hi: int
) -> None:
    """The customers whose profile this batch wrote get their staged metafields (every
    namespace: the import reads them all) in place of the stored ones."""
    session.execute(
        delete(CustomerMetafield).where(
            CustomerMetafield.shop_id == shop_id,
            CustomerMetafield.customer_id.in_(_written(shop_id, run_id, lo, hi)),
        )
    )
    sm = StagedMetafield.__table__
    columns = ["namespace", "key", "position", "type", "value", "text_cf", "number_value"]
    columns += ["date_value", "at_value", "bool_value", "month_day"]
    query = (
        select(literal(shop_id), C.c.id, *(sm.c[c] for c in columns))
        .select_from(_written_join(sm, run_id, shop_id))
        .where(sm.c.run_id == run_id, SC.c.seq.between(lo, hi))
    )
    names = ["shop_id", "customer_id", *columns]
    session.execute(insert_for(session, CustomerMetafield.__table__).from_select(names, query))


def merge_customer_addresses(session: Session, shop_id: int, run_id: int, lo: int, hi: int) -> None:
    """The customers whose profile this batch wrote get their staged address list in place
    of the stored one: one DELETE, one INSERT … SELECT DISTINCT (the default address is
    staged twice)."""
    written = _written(shop_id, run_id, lo, hi)
    session.execute(
        delete(CustomerAddress).where(
            CustomerAddress.shop_id == shop_id, CustomerAddress.customer_id.in_(written)
        )
    )
    sa = StagedAddress.__table__
    columns = ["country_code", "province_code", "city", "region_key", "city_key"]
    query = (
        select(literal(shop_id), C.c.id, *(sa.c[c] for c in columns))
        .distinct()
        .select_from(_written_join(sa, run_id, shop_id))
        .where(sa.c.run_id == run_id, SC.c.seq.between(lo, hi))
    )
    names = ["shop_id", "customer_id", *columns]
    session.execute(insert_for(session, CustomerAddress.__table__).from_select(names, query))


def merge_statistics(
    session: Session, shop_id: int, run_id: int, lo: int, hi: int, now: datetime
) -> None:
    """The statistics refresh: only `predicted_spend_tier` and `platform_rfm_group` of the
    customers already stored, where they changed and over an older version (one UPDATE)."""
    s = (
        select(SC.c.platform_id, *(SC.c[c] for c in STATISTICS), SC.c.statistics_version)
        .where(SC.c.run_id == run_id, SC.c.seq.between(lo, hi))
        .subquery()
    )
    changed = or_(*(C.c[c].is_distinct_from(s.c[c]) for c in STATISTICS))
    older = or_(C.c.statistics_version.is_(None), C.c.statistics_version < s.c.statistics_version)
    session.execute(
        update(C)
        .where(C.c.shop_id == shop_id, C.c.platform_id == s.c.platform_id, changed, older)
        .values(
            **{c: s.c[c] for c in STATISTICS},
            statistics_version=s.c.statistics_version,
            updated_at=at(now),
        )
    )


def _newer(column: str, excluded: Any) -> ColumnElement[bool]:
    return and_(
        excluded[column].is_not(None), or_(C.c[column].is_(None), C.c[column] < excluded[column])
    )


def _group(
    columns: tuple[str, ...], version: str, excluded: Any, source: str | None = None
) -> dict[str, Any]:
    """SET col = CASE WHEN stored version older THEN new ELSE stored, for a field group."""
    newer = _newer(version, excluded)
    sets = {c: case((newer, excluded[c]), else_=C.c[c]) for c in columns}
    sets[version] = case((newer, excluded[source or version]), else_=C.c[version])
    return sets


def _customer_updates(excluded: Any, now: datetime) -> dict[str, Any]:
    summary = ("reported_orders_count", "reported_amount_spent_minor")
    return {
        **_group(PROFILE_COLUMNS, "profile_version", excluded),
        **_group(CONSENT_COLUMNS, "consent_version", excluded),
        **_group(summary, "summary_version", excluded),
        **_group(STATISTICS, "statistics_version", excluded),
        **_group(SMS_COLUMNS, "sms_consent_version", excluded),
        # Customer payloads carry no locale: like an order's, it only fills a gap.
        "locale": func.coalesce(C.c.locale, excluded.locale),
        "updated_at": at(now),
    }


def merge_customer_tags(session: Session, shop_id: int, run_id: int, lo: int, hi: int) -> None:
    """Each staged customer's full tag list as of its version: listed tags present, other
    present tags absent, each over an older version of that tag only (one statement)."""
    owners = session.execute(
        select(SC.c.seq, C.c.id, SC.c.profile_version)
        .join(C, and_(C.c.shop_id == shop_id, C.c.platform_id == SC.c.platform_id))
        .where(SC.c.run_id == run_id, SC.c.seq.between(lo, hi))
    ).all()
    if not owners:
        return
    listed: dict[int, dict[str, str]] = defaultdict(dict)
    tags = select(StagedTag.owner_seq, StagedTag.tag_cf, StagedTag.tag).where(
        StagedTag.run_id == run_id,
        StagedTag.kind == "customer",
        StagedTag.owner_seq.between(lo, hi),
    )
    for seq, cf, tag in session.execute(tags):
        listed[seq][cf] = tag
    present: dict[int, dict[str, str]] = defaultdict(dict)
    known = select(CustomerTag.customer_id, CustomerTag.tag_cf, CustomerTag.tag).where(
        CustomerTag.shop_id == shop_id,
        CustomerTag.customer_id.in_([o.id for o in owners]),
        CustomerTag.present.is_(True),
    )
    for customer_id, cf, tag in session.execute(known):
        present[customer_id][cf] = tag
    rows = [
        _tag_row(shop_id, owner.id, tag, cf, cf in listed[owner.seq], owner.profile_version)
        for owner in owners
        for cf, tag in {**present[owner.id], **listed[owner.seq]}.items()
    ]
    upsert_tag_rows(session, rows)


def _tag_row(
    shop_id: int, customer_id: int, tag: str, cf: str, on: bool, version: str
) -> dict[str, Any]:
    return {
        "shop_id": shop_id,
        "customer_id": customer_id,
        "tag": tag,
        "tag_cf": cf,
        "present": on,
        "version": version,
    }


def merge_products(session: Session, shop_id: int, run_id: int, lo: int, hi: int) -> None:
    """Upsert staged products over older versions; the written ones get their tag lists."""
    sp, p = StagedProduct.__table__, Product.__table__
    columns = ["title", "product_type", "product_type_cf", "vendor", "vendor_cf", "category_id"]
    columns.append("version")
    query = select(literal(shop_id), sp.c.platform_id, *(sp.c[c] for c in columns)).where(
        sp.c.run_id == run_id, sp.c.seq.between(lo, hi)
    )
    stmt = insert_for(session, p).from_select(["shop_id", "platform_id", *columns], query)
    stmt = stmt.on_conflict_do_update(
        index_elements=["shop_id", "platform_id"],
        set_={c: stmt.excluded[c] for c in columns},
        where=or_(p.c.version.is_(None), p.c.version < stmt.excluded.version),
    )
    session.execute(stmt)
    written = (
        select(p.c.id)
        .join(sp, and_(sp.c.platform_id == p.c.platform_id, sp.c.version == p.c.version))
        .where(p.c.shop_id == shop_id, sp.c.run_id == run_id, sp.c.seq.between(lo, hi))
    )
    session.execute(delete(ProductTag).where(ProductTag.product_id.in_(written)))
    tags = (
        select(literal(shop_id), p.c.id, StagedTag.tag, StagedTag.tag_cf)
        .join(sp, and_(sp.c.run_id == StagedTag.run_id, sp.c.seq == StagedTag.owner_seq))
        .join(
            p,
            and_(
                p.c.shop_id == shop_id,
                p.c.platform_id == sp.c.platform_id,
                p.c.version == sp.c.version,
            ),
        )
        .where(
            StagedTag.run_id == run_id,
            StagedTag.kind == "product",
            StagedTag.owner_seq.between(lo, hi),
        )
    )
    session.execute(
        insert_for(session, ProductTag.__table__).from_select(
            ["shop_id", "product_id", "tag", "tag_cf"], tags
        )
    )
