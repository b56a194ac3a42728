"""Shopify's side of the history import: bulk query exports, paged reads, result streams.

Up to five bulk queries run at once per shop (API 2026-01 on), so the three exports start
together; a LIMIT_REACHED / OPERATION_IN_PROGRESS refusal means "later". An operation is
polled with `bulkOperation(id:)`; its result `url` works for seven days after completion.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from plugin.errors import PlatformError
from plugin.platforms.port import ExportBusy, ExportDenied, ExportState, Page
from plugin.platforms.shopify import bulk
from plugin.platforms.shopify.client import AccessDenied, AdminClient, Throttled, UserErrors
from plugin.platforms.shopify.history_documents import BULK_HISTORY, PAGED_HISTORY, REST_OF
from plugin.platforms.shopify.history_rows import flatten_page, instant, rows_from_lines

# the order they are merged in
RESOURCES = ("customers", "products", "orders", "companies", "store_credit")
RECONCILED = ("customers", "orders")  # products: looked up when an order line names one
# what no webhook changes: the customers' statistics, B2B companies and store credit
STATISTICS = ("statistics", "companies", "store_credit")
# What a shop may refuse (B2B needs Shopify Plus; store credit two scopes an install from
# before they were asked for lacks): read as empty, the run goes on.
OPTIONAL = ("companies", "store_credit")
URL_LIFETIME = timedelta(days=7)
BUSY_CODES = ("LIMIT_REACHED", "OPERATION_IN_PROGRESS")
ALL_ORDERS_SCOPE = "read_all_orders"
STREAM_TIMEOUT = (5, 300)
THROTTLE_RETRIES = 20
MAX_WAIT = 30.0


class ShopifyHistory:
    """The HistorySource of one Shopify shop, over an AdminClient (or the outbox's paced
    client, which has the same `execute`)."""

    resources: tuple[str, ...] = RESOURCES

    def __init__(
        self, client: AdminClient | Any, http: requests.Session, search: str | None = None
    ) -> None:
        self.client = client
        self.http = http
        self.search = search  # a search query the paged reads filter by (the reconcile's)

    def full_history(self, scopes: str | None) -> bool:
        """Without read_all_orders Shopify returns only the last 60 days of orders."""
        return ALL_ORDERS_SCOPE in {s.strip() for s in (scopes or "").split(",")}

    def start(self, resource: str) -> str:
        try:
            return bulk.run_bulk_query(self.client, BULK_HISTORY[resource])
        except bulk.BulkInProgress as exc:
            raise ExportBusy(exc.detail) from exc
        except AccessDenied as exc:
            raise ExportDenied(exc.detail) from exc
        except UserErrors as exc:
            if any(e.get("code") in BUSY_CODES for e in exc.errors):
                raise ExportBusy(exc.detail) from exc
            raise

    def check(self, operation_id: str) -> ExportState:
        status = bulk.bulk_status(self.client, operation_id)
        if not status.finished:
            return ExportState("waiting", object_count=status.object_count)
        if status.error_code == "ACCESS_DENIED":
            return ExportState("denied", error="ACCESS_DENIED")
        if not status.completed:
            code = status.error_code or "no error code"
            return ExportState("failed", error=f"{status.status.lower()} ({code})")
        return ExportState(
            "ready",
            url=status.url,
            object_count=status.object_count,
            expires_at=_expiry(status.completed_at),
        )

    def lines(self, url: str, skip: int) -> Iterator[bytes]:
        try:
            response = self.http.get(url, stream=True, timeout=STREAM_TIMEOUT)
        except requests.RequestException as exc:
            raise PlatformError(f"bulk result download failed: {type(exc).__name__}") from exc
        with response:
            if response.status_code != 200:
                transient = response.status_code >= 500 or response.status_code == 429
                raise PlatformError(
                    f"bulk result answered {response.status_code}",
                    transient=transient,
                    status_code=response.status_code,
                )
            seen = 0
            for line in response.iter_lines(chunk_size=1 << 16):
                if not line:
                    continue
                seen += 1
                if seen > skip:
                    yield line

    def page(self, resource: str, cursor: str | None) -> Page:
        try:
            data = self._paced(PAGED_HISTORY[resource], {"after": cursor, "query": self.search})
        except AccessDenied:
            if resource not in OPTIONAL:
                raise
            return Page([], None, False)  # this shop has none to give us: nothing replaced
        connection = data[resource if resource in ("products", "orders") else "customers"]
        info = connection.get("pageInfo") or {}
        nodes = connection.get("nodes") or []
        for node in nodes:
            self._read_to_end(node)
        return Page(
            list(flatten_page(nodes)),
            info.get("endCursor"),
            bool(info.get("hasNextPage")),
        )

    def _read_to_end(self, node: dict[str, Any]) -> None:
        """Complete each nested list the page cut short (a customer's sixth address, an
        order's 21st line), in place: one read per cut list, and few lists are cut."""
        for field, document in REST_OF.items():
            connection = node.get(field)
            while connection and (connection.get("pageInfo") or {}).get("hasNextPage"):
                after = connection["pageInfo"].get("endCursor")
                data = self._paced(document, {"id": node["id"], "after": after})
                more = (data.get("node") or {}).get(field)
                if more is None:  # deleted since the page was read: keep what was read
                    break
                connection["nodes"] = [*connection.get("nodes", ()), *(more.get("nodes") or ())]
                connection["pageInfo"] = more.get("pageInfo") or {}

    def _paced(self, document: Any, variables: dict[str, Any]) -> dict[str, Any]:
        """Paged reads spend the shop's API points fast: wait as Shopify says when throttled."""
        for _ in range(THROTTLE_RETRIES):
            try:
                return dict(self.client.execute(document, variables))
            except Throttled as exc:
                time.sleep(min(exc.wait_seconds, MAX_WAIT))
        return dict(self.client.execute(document, variables))

    # a plain function: the import can run it in a second process (plugin.backfill.builder)
    rows = staticmethod(rows_from_lines)


def _expiry(completed_at: str | None) -> datetime | None:
    completed = instant(completed_at)
    return completed + URL_LIFETIME if completed else None


class ShopifyUpdates(ShopifyHistory):
    """The reconcile's source: customers and orders updated since an instant, read page
    by page with a search query on `updated_at` (a bulk export would read everything)."""

    resources = RECONCILED

    def __init__(self, client: AdminClient | Any, http: requests.Session, since: datetime):
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        super().__init__(client, http, f"updated_at:>='{stamp}'")


class ShopifyStatistics(ShopifyHistory):
    """The periodic refresh's source: every customer's `statistics` (predictedSpendTier,
    rfmGroup), which Shopify recomputes without sending any webhook, B2B companies and
    store credit; one bulk query each."""

    resources = STATISTICS


def history_source(
    client: AdminClient | Any,
    http: requests.Session,
    since: datetime | None = None,
    *,
    statistics: bool = False,
) -> ShopifyHistory:
    """The whole history, (`since`) what was updated since then, or (`statistics`) the
    customers' statistics only."""
    if statistics:
        return ShopifyStatistics(client, http)
    return ShopifyHistory(client, http) if since is None else ShopifyUpdates(client, http, since)
