"""Which tag each segment writes, and which tags the app owns.

A segment's tag is its own `tag` or, without one, the shop's prefix (setting `tag_prefix`,
default `seg:`) and its slug; a given tag lacking the prefix gets it. The app owns every
tag it ever gave a segment (`managed_tags`): a retagged or disabled segment's old tag is
still removed from customers, and no other tag is ever touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from plugin.db import insert_for
from plugin.errors import ValidationError
from plugin.profiles.customer_tags import tag_key
from plugin.profiles.shop_settings import setting_value
from plugin.segments.models import Segment
from plugin.shops.models import ShopSetting
from plugin.tagsync.models import ManagedTag

TAG_PREFIX = "tag_prefix"
BULK_THRESHOLD = "bulk_threshold"
DEFAULTS: dict[str, Any] = {TAG_PREFIX: "seg:", BULK_THRESHOLD: 500}
TAG_LIMIT = 255  # Shopify: "Each tag can have up to 255 characters."


@dataclass(frozen=True)
class SegmentTag:
    segment_id: int
    slug: str
    bit: int
    enabled: bool
    tag: str
    push: bool = True  # the merchant chose this segment to become a tag at the shop

    @property
    def pushed(self) -> bool:
        """Members should carry the tag: the segment is on and chosen to push."""
        return self.enabled and self.push

    @property
    def tag_cf(self) -> str:
        return tag_key(self.tag)


def setting(session: Session, shop_id: int, key: str) -> Any:
    row = session.get(ShopSetting, (shop_id, key))
    value = None if row is None else setting_value(key, row.value)
    return DEFAULTS[key] if value is None else value


def tag_prefix(session: Session, shop_id: int) -> str:
    return str(setting(session, shop_id, TAG_PREFIX))


def bulk_threshold(session: Session, shop_id: int) -> int:
    return max(1, int(setting(session, shop_id, BULK_THRESHOLD)))


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
        select(
            Segment.id, Segment.slug, Segment.bit, Segment.enabled, Segment.tag, Segment.push_tag
        )
        .where(Segment.shop_id == shop_id)
        .order_by(Segment.bit)
    )
    return [
        SegmentTag(
            r.id,
            r.slug,
            r.bit,
            r.enabled,
            effective_tag(prefix, r.slug, r.tag)[:TAG_LIMIT],
            r.push_tag,
        )
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


def own_tag(session: Session, shop_id: int, tag: str) -> None:
    """Own a tag no segment writes (a trigger's short-lived tag): it may then be added and
    removed on customers like a segment's. A tag already owned keeps its row."""
    row = {"shop_id": shop_id, "tag": tag.strip(), "tag_cf": tag_key(tag), "segment_id": None}
    stmt = insert_for(session, ManagedTag).values(row)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["shop_id", "tag_cf"]))


def managed_tag_cfs(session: Session, shop_id: int) -> set[str]:
    return set(session.scalars(select(ManagedTag.tag_cf).where(ManagedTag.shop_id == shop_id)))
