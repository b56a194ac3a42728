"""Event handlers of the profiles package (filled in by its services)."""

from __future__ import annotations

from plugin.events import Event
from plugin.handlers import Handler

HANDLERS: dict[type[Event], Handler] = {}
