"""The ports a platform implements: deliveries in, domain events out; history exports."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from plugin.errors import PlatformError
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


# --- history import ------------------------------------------------------------------------

# (customer | product | order | line, column values); instants as fixed-width UTC text
# ("2026-01-01T00:00:00.000000Z", the instant half of a source version)
HistoryRow = tuple[str, dict[str, Any]]


class ExportBusy(PlatformError):
    """The platform runs as many exports for this shop as it allows: start again later."""

    code = "platform_export_busy"


class ExportDenied(PlatformError):
    """The platform refuses bulk exports to this app: read page by page instead."""

    code = "platform_export_denied"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, transient=False)


@dataclass(frozen=True)
class ExportState:
    """Where a started export stands. `state`: waiting | ready | failed | denied."""

    state: str
    url: str | None = None  # the result lines once ready (None: the export is empty)
    object_count: int = 0
    expires_at: datetime | None = None  # the url stops working then: export again
    error: str | None = None


@dataclass(frozen=True)
class Page:
    lines: list[dict[str, Any]]  # the page's objects, flattened as export lines are
    cursor: str | None  # where the next page starts
    more: bool


class HistorySource(Protocol):
    """A platform's side of the history import (see plugin.backfill). Every call is HTTP:
    callers hold no transaction open across them."""

    resources: tuple[str, ...]  # in merge order

    def full_history(self, scopes: str | None) -> bool:
        """Whether these granted scopes reach every past order (not only recent ones)."""
        ...

    def start(self, resource: str) -> str:
        """Start exporting `resource`; the operation id. ExportBusy / ExportDenied."""
        ...

    def check(self, operation_id: str) -> ExportState: ...

    def lines(self, url: str, skip: int) -> Iterator[bytes]:
        """The export's lines after the first `skip`, streamed (never all in memory)."""
        ...

    def page(self, resource: str, cursor: str | None) -> Page: ...

    def rows(
        self, lines: Iterable[bytes | dict[str, Any]], resource: str = "customers"
    ) -> Iterator[tuple[int, HistoryRow]]:
        """(position in `lines`, row) per parsed line of `resource`'s export (lines of other
        kinds skipped)."""
        ...
