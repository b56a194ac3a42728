"""A customer's desired managed tags — the one place delivery, bulk and drift repair ask:
the tags of the enabled segments chosen to push that they are in, and their active
short-lived trigger tags."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.profiles.customer_tags import tag_key
from plugin.profiles.models import Customer, CustomerTag
from plugin.segments.models import SegmentState, combine
from plugin.tagsync.tags import SegmentTag, managed_tag_cfs, sync_managed_tags
from plugin.triggers.catalogue import FIRED, SKIPPED
from plugin.triggers.models import TriggerFiring

GID_PREFIX = "gid://shopify/Customer/"
CHUNK = 1000
# A firing's tag lasts while it was applied: fired, or skipped for lack of consent (tags
# are internal). A cancelled firing (the checkout recovered before delivery) drops it.
TAGGED_STATES = (FIRED, SKIPPED)

TriggerTags = dict[int, dict[str, str]]  # customer id -> tag_cf -> tag


@dataclass(frozen=True)
class DesiredTags:
    """What the app wants on customers: segment tags by membership mask, trigger tags by
    customer (only those loaded: all of the shop's, or the customers asked for)."""

    segments: list[SegmentTag]
    triggers: TriggerTags = field(default_factory=dict)

    def of(self, customer_id: int, mask: int) -> dict[str, str]:
        """tag_cf -> tag the customer should carry."""
        want = {t.tag_cf: t.tag for t in self.segments if t.pushed and mask >> t.bit & 1}
        for cf, tag in self.triggers.get(customer_id, {}).items():
            want.setdefault(cf, tag)
        return want

    def segment_bits(self, cf: str) -> int:
        """The mask bits of the enabled, pushed segments writing the tag `cf`."""
        return sum(1 << t.bit for t in self.segments if t.pushed and t.tag_cf == cf)

    def trigger_holders(self, cf: str) -> set[int]:
        """Customers an active trigger tag `cf` is meant for."""
        return {c for c, tags in self.triggers.items() if cf in tags}


def desired_tags(
    session: Session, shop_id: int, now: datetime, customer_ids: Iterable[int] | None = None
) -> DesiredTags:
    """The shop's desired tags at `now`; trigger tags of `customer_ids` only, when given."""
    return DesiredTags(
        sync_managed_tags(session, shop_id),
        active_trigger_tags(session, shop_id, now, customer_ids),
    )


def active_trigger_tags(
    session: Session, shop_id: int, now: datetime, customer_ids: Iterable[int] | None = None
) -> TriggerTags:
    """Short-lived tags of applied firings whose time has not run out."""
    stmt = select(TriggerFiring.customer_id, TriggerFiring.tag).where(
        TriggerFiring.shop_id == shop_id,
        TriggerFiring.tag_until > now,
        TriggerFiring.state.in_(TAGGED_STATES),
        TriggerFiring.customer_id.is_not(None),
        TriggerFiring.tag.is_not(None),
    )
    found: TriggerTags = {}
    chunks = [None] if customer_ids is None else _chunks(sorted(set(customer_ids)))
    for chunk in chunks:
        rows = session.execute(
            stmt if chunk is None else stmt.where(TriggerFiring.customer_id.in_(chunk))
        )
        for customer_id, tag in rows:
            found.setdefault(customer_id, {})[tag_key(tag)] = tag.strip()
    return found


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
    session: Session,
    shop_id: int,
    customer_ids: Iterable[int],
    now: datetime,
    desired: DesiredTags | None = None,
    uncertain: Mapping[int, Mapping[str, Sequence[str]]] | None = None,
) -> dict[int, CustomerPlan]:
    """Desired against known (present managed tags) for these customers; customers no
    longer stored are left out. `uncertain`: per customer, the tags a call whose outcome
    is unknown tried to add and remove (`{"added": […], "removed": […]}`); the shop may
    hold either state, so the plan states each of them again as it is desired now."""
    ids = sorted(set(customer_ids))
    desired = desired or desired_tags(session, shop_id, now, ids)
    managed = managed_tag_cfs(session, shop_id)
    plans: dict[int, CustomerPlan] = {}
    for chunk in _chunks(ids):
        masks = _masks(session, shop_id, chunk)
        known = _known(session, shop_id, chunk, managed)
        for customer_id, platform_id in _platform_ids(session, shop_id, chunk):
            want = desired.of(customer_id, masks.get(customer_id, 0))
            have = known.get(customer_id, {})
            tried = (uncertain or {}).get(customer_id, {})
            unsure = {tag_key(t): t for t in (*tried.get("added", ()), *tried.get("removed", ()))}
            plans[customer_id] = CustomerPlan(
                customer_id,
                platform_id,
                add=sorted({tag for cf, tag in want.items() if cf not in have or cf in unsure}),
                remove=sorted(
                    {tag for cf, tag in have.items() if cf not in want}
                    | {tag for cf, tag in unsure.items() if cf not in want}
                ),
            )
    return plans


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]


def _masks(session: Session, shop_id: int, ids: list[int]) -> dict[int, int]:
    """Each customer's membership bits, their words combined."""
    rows = session.execute(
        select(SegmentState.customer_id, SegmentState.word, SegmentState.mask).where(
            SegmentState.shop_id == shop_id, SegmentState.customer_id.in_(ids)
        )
    )
    masks: dict[int, int] = {}
    for r in rows:
        masks[r.customer_id] = masks.get(r.customer_id, 0) | combine([(r.word, r.mask)])
    return masks


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
