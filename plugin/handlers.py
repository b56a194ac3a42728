"""The dispatch table from domain event type to the service that applies it.

Each feature package exposes `HANDLERS` (typed by `plugin.handling`); this module, the
one place they are composed, merges them, so a new event is wired in the package that owns
it and no feature imports this module.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from plugin.backfill import handlers as backfill
from plugin.billing import handlers as billing
from plugin.events import Delivery, Event
from plugin.handling import BatchService, Context, Handler
from plugin.privacy import handlers as privacy
from plugin.profiles import handlers as profiles
from plugin.shops import handlers as shops
from plugin.shops.models import Shop
from plugin.tagsync import handlers as tagsync  # wraps the profiles' tag handler

__all__ = ["BATCHABLE", "BATCH_SERVICES", "Context", "Handler", "all_handlers", "dispatch"]


# Built once: the feature tables are fixed at import, and every event is dispatched here.
_HANDLERS: dict[type[Event], Handler] = {
    **shops.HANDLERS,
    **profiles.HANDLERS,
    **tagsync.HANDLERS,
    **privacy.HANDLERS,
    **billing.HANDLERS,
    **backfill.HANDLERS,
}


# Events whose handlers only write profiles and report whom they touched (`Context.touched`):
# the worker applies several deliveries of them as one generation. Every other event is
# applied alone, in its place.
BATCHABLE: frozenset[type[Event]] = frozenset(profiles.HANDLERS)


# Services that apply many events of one type at once (a few statements for all), each
# returning whom every event touched: the worker's generations use them.
BATCH_SERVICES: dict[type[Event], BatchService] = dict(profiles.BATCH_SERVICES)


def all_handlers() -> dict[type[Event], Handler]:
    return dict(_HANDLERS)


def dispatch(session: Session, shop: Shop, event: Event, delivery: Delivery, ctx: Context) -> None:
    """Apply one event. Events without a handler are deliberately ignored."""
    handler = _HANDLERS.get(type(event))
    if handler is not None:
        handler(session, shop, event, delivery, ctx)
