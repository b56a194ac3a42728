"""The port every platform adapter implements: deliveries in, domain events out."""

from __future__ import annotations

from typing import Any, Protocol

from plugin.events import Delivery, Event


class PlatformAdapter(Protocol):
    """Turns one verified delivery into domain events (no I/O, no database).

    Raises `plugin.errors.ValidationError` when the payload cannot be understood; such a
    delivery can never succeed and is parked as dead at once.
    """

    name: str

    def events_from_delivery(
        self, delivery: Delivery, api_version: str | None, payload: dict[str, Any]
    ) -> list[Event]: ...
