"""Which tag each segment writes, which tags the app owns, and what a customer should carry.

A segment's tag is its own `tag` or, without one, the shop's prefix (setting `tag_prefix`,
default `seg:`) and its slug; a given tag lacking the prefix gets it. The app owns every
tag it ever gave a segment (`managed_tags`): a retagged or disabled segment's old tag is
still removed from customers, and no other tag is ever touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from plugin.db import insert_for
from plugin.errors import ValidationError
from plugin.profiles.customer_tags import tag_key
from plugin.profiles.models import Customer, CustomerTag
from plugin.segments.models import Segment, SegmentState
from plugin.shops.models import ShopSetting
from plugin.tagsync.models import ManagedTag

TAG_PREFIX = "tag_prefix"
BULK_THRESHOLD = "bulk_threshold"
DEFAULTS: dict[str, Any] = {TAG_PREFIX: "seg:", BULK_THRESHOLD: 500}
TAG_LIMIT = 255  # Shopify: "Each tag can have up to 255 characters."
GID_PREFIX = "gid://shopify/Customer/"


@dataclass(frozen=True)
class SegmentTag:
    segment_id: int
    slug: str
    bit: int
    enabled: bool
    tag: str

    @property
    def tag_cf(self) -> str:
        return tag_key(self.tag)


def setting(session: Session, shop_id: int, key: str) -> Any:
    row = session.get(ShopSetting, (shop_id, key))
    value = row.value if row is not None else None
    if isinstance(value, dict):
        value = value.get("value")
    return DEFAULTS[key] if value is None else value


def tag_prefix(session: Session, shop_id: int) -> str:
    return str(setting(session, shop_id, TAG_PREFIX))


def bulk_threshold(session: Session, shop_id: int) -> int:
    return int(setting(session, shop_id, BULK_THRESHOLD))


def effective_tag(prefix: str, slug: str, tag: str | None) -> str:
    """The tag a segment writes: its own (prefixed when it lacks the prefix) or prefix+slug."""
    given = (tag or "").strip()
    if not given:
        return prefix + slug
    return given if given.casefold().startswith(prefix.casefold()) else prefix + given


def check_tag(prefix: str, slug: str, tag: str | None) -> str:
    """The effective tag, or ValidationError when Shopify would refuse it."""
    effective = effective_tag(prefix, slug, tag)
    if len(effective) > TAG_LIMIT:
        raise ValidationError(
            f"the tag {effective[:40]}… has {len(effective)} characters; Shopify allows "
            f"{TAG_LIMIT} (prefix included)"
        )
    if "," in effective:
        raise ValidationError("a tag cannot contain a comma (Shopify separates tags with them)")
    return effective


def check_segment_tag(session: Session, shop_id: int, slug: str, tag: str | None) -> None:
    """For the segment services: refuse a given tag that will not fit once prefixed. (A
    default tag, prefix and slug, is cut to the limit instead: the name is not a tag.)"""
    if tag and tag.strip():
        check_tag(tag_prefix(session, shop_id), slug, tag)


def segment_tags(session: Session, shop_id: int) -> list[SegmentTag]:
    """Every segment of the shop with the tag it writes, in bit order."""
    prefix = tag_prefix(session, shop_id)
    rows = session.execute(
        select(Segment.id, Segment.slug, Segment.bit, Segment.enabled, Segment.tag)
        .where(Segment.shop_id == shop_id)
        .order_by(Segment.bit)
    )
    return [
        SegmentTag(r.id, r.slug, r.bit, r.enabled, effective_tag(prefix, r.slug, r.tag)[:TAG_LIMIT])
        for r in rows
    ]


def sync_managed_tags(session: Session, shop_id: int) -> list[SegmentTag]:
    """Own every segment's current tag; a tag no segment writes any more stays owned, with
    no segment, so it is removed from the customers who still carry it."""
    tags = segment_tags(session, shop_id)
    if not tags:
        return tags
    owned = {
        row.tag_cf: row
        for row in session.scalars(select(ManagedTag).where(ManagedTag.shop_id == shop_id))
    }
    current = {t.tag_cf: t for t in tags}
    fresh = [
        {"shop_id": shop_id, "tag": t.tag, "tag_cf": cf, "segment_id": t.segment_id}
        for cf, t in current.items()
        if cf not in owned
    ]
    if fresh:
        stmt = insert_for(session, ManagedTag).values(fresh)
        session.execute(stmt.on_conflict_do_nothing(index_elements=["shop_id", "tag_cf"]))
    for cf, row in owned.items():
        wanted = current[cf].segment_id if cf in current else None
        if row.segment_id != wanted:
            session.execute(
                update(ManagedTag).where(ManagedTag.id == row.id).values(segment_id=wanted)
            )
    return tags


def managed_tag_cfs(session: Session, shop_id: int) -> set[str]:
    return set(session.scalars(select(ManagedTag.tag_cf).where(ManagedTag.shop_id == shop_id)))


def desired_tags(tags: Iterable[SegmentTag], mask: int) -> dict[str, str]:
    """tag_cf -> tag of the enabled segments whose bit is set in `mask`."""
    return {t.tag_cf: t.tag for t in tags if t.enabled and mask >> t.bit & 1}


@dataclass(frozen=True)
class CustomerPlan:
    """One customer's managed tags to add and to remove, from what the app knows now."""

    customer_id: int
    platform_id: str
    add: list[str]
    remove: list[str]

    @property
    def gid(self) -> str:
        return GID_PREFIX + self.platform_id

    @property
    def empty(self) -> bool:
        return not self.add and not self.remove


def plan_customers(
    session: Session, shop_id: int, customer_ids: Iterable[int]
) -> dict[int, CustomerPlan]:
    """Desired (enabled segments' tags by the customer's mask) against known (present
    managed tags) for these customers; customers no longer stored are left out."""
    tags = sync_managed_tags(session, shop_id)
    managed = managed_tag_cfs(session, shop_id)
    ids = sorted(set(customer_ids))
    plans: dict[int, CustomerPlan] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        masks = _masks(session, shop_id, chunk)
        known = _known(session, shop_id, chunk, managed)
        for customer_id, platform_id in _platform_ids(session, shop_id, chunk):
            want = desired_tags(tags, masks.get(customer_id, 0))
            have = known.get(customer_id, {})
            plans[customer_id] = CustomerPlan(
                customer_id,
                platform_id,
                add=sorted(tag for cf, tag in want.items() if cf not in have),
                remove=sorted(tag for cf, tag in have.items() if cf not in want),
            )
    return plans


def _masks(session: Session, shop_id: int, ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(SegmentState.customer_id, SegmentState.mask).where(
            SegmentState.shop_id == shop_id, SegmentState.customer_id.in_(ids)
        )
    )
    return {r.customer_id: r.mask for r in rows}


def _known(
    session: Session, shop_id: int, ids: list[int], managed: set[str]
) -> dict[int, dict[str, str]]:
    rows = session.execute(
        select(CustomerTag.customer_id, CustomerTag.tag, CustomerTag.tag_cf).where(
            CustomerTag.shop_id == shop_id,
            CustomerTag.customer_id.in_(ids),
            CustomerTag.present.is_(True),
        )
    )
    known: dict[int, dict[str, str]] = {}
    for r in rows:
        if r.tag_cf in managed:
            known.setdefault(r.customer_id, {})[r.tag_cf] = r.tag
    return known


def _platform_ids(session: Session, shop_id: int, ids: list[int]) -> list[tuple[int, str]]:
    rows = session.execute(
        select(Customer.id, Customer.platform_id).where(
            Customer.shop_id == shop_id, Customer.id.in_(ids)
        )
    )
    return [(r.id, r.platform_id) for r in rows]
