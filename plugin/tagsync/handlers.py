"""Tag webhooks pass through tag sync first: the echoes of the app's own pushes are dropped
(their state is already recorded), the rest are the merchant's edits and apply as usual."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from plugin import events as ev
from plugin.handling import Context, Handler
from plugin.profiles.customer_tags import tag_key
from plugin.profiles.customers import find_customer
from plugin.profiles.handlers import HANDLERS as PROFILE_HANDLERS
from plugin.shops.models import Shop
from plugin.tagsync.known import echoed_tags


def occurred_at(version: str) -> datetime | None:
    """The instant of an event version (`make_version`'s fixed-width UTC text)."""
    stamp = version.partition("|")[0]
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def without_echoes(
    session: Session, shop_id: int, event: ev.CustomerTagsChanged
) -> ev.CustomerTagsChanged:
    """The event minus the tags that echo the app's own pushes."""
    customer = find_customer(session, shop_id, event.customer_id)
    if customer is None:
        return event
    at = occurred_at(event.version)
    added = echoed_tags(session, shop_id, customer.id, event.added, True, at)
    removed = echoed_tags(session, shop_id, customer.id, event.removed, False, at)
    if not added and not removed:
        return event
    return replace(
        event,
        added=tuple(t for t in event.added if tag_key(t) not in added),
        removed=tuple(t for t in event.removed if tag_key(t) not in removed),
    )


def apply_tags_changed(
    session: Session, shop: Shop, event: ev.Event, delivery: ev.Delivery, ctx: Context
) -> None:
    assert isinstance(event, ev.CustomerTagsChanged)
    mine = without_echoes(session, shop.id, event)
    if mine.added or mine.removed:
        PROFILE_HANDLERS[ev.CustomerTagsChanged](session, shop, mine, delivery, ctx)


HANDLERS: dict[type[ev.Event], Handler] = {ev.CustomerTagsChanged: apply_tags_changed}
