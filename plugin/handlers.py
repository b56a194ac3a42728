"""The dispatch table from domain event type to the service that applies it.

Each feature package exposes `HANDLERS`; this module only merges them, so a new event is
wired in the package that owns it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from plugin.events import Delivery, Event
from plugin.settings import Settings
from plugin.shops.models import Shop


@dataclass(frozen=True)
class Context:
    """What a handler may need beyond the session: settings and one frozen clock."""

    settings: Settings
    now: datetime


Handler = Callable[[Session, Shop, Event, Delivery, Context], None]


def all_handlers() -> dict[type[Event], Handler]:
    from plugin.backfill import handlers as backfill
    from plugin.billing import handlers as billing
    from plugin.privacy import handlers as privacy
    from plugin.profiles import handlers as profiles
    from plugin.shops import handlers as shops
    from plugin.tagsync import handlers as tagsync  # wraps the profiles' tag handler

    return {
        **shops.HANDLERS,
        **profiles.HANDLERS,
        **tagsync.HANDLERS,
        **privacy.HANDLERS,
        **billing.HANDLERS,
        **backfill.HANDLERS,
    }


def dispatch(session: Session, shop: Shop, event: Event, delivery: Delivery, ctx: Context) -> None:
    """Apply one event. Events without a handler are deliberately ignored."""
    handler = all_handlers().get(type(event))
    if handler is not None:
        handler(session, shop, event, delivery, ctx)
