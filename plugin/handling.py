"""What an event handler is: its signature and the context it gets (settings, one clock).
Feature packages type their handlers with these; `plugin.handlers` composes them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from plugin.events import Delivery, Event
from plugin.settings import Settings
from plugin.shops.models import Shop


@dataclass(frozen=True)
class Context:
    """What a handler may need beyond the session: settings and one frozen clock. With
    `touched`, the worker recomputes metrics once for a whole generation of deliveries:
    handlers add the customers they changed there instead of recomputing them."""

    settings: Settings
    now: datetime
    touched: set[int] | None = None


Handler = Callable[[Session, Shop, Event, Delivery, Context], None]
# Many events of one type for one shop -> per event, the customers it touched.
BatchService = Callable[[Session, int, Sequence[Any]], list[set[int | None]]]
