"""Event handlers of the privacy package (filled in by its services)."""

from __future__ import annotations

from plugin.events import Event
from plugin.handlers import Handler

HANDLERS: dict[type[Event], Handler] = {}
