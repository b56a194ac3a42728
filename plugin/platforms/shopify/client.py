"""The Admin GraphQL client: one POST per document, errors sorted into transient or permanent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from plugin.errors import PlatformError
from plugin.platforms.shopify.registry import Document
from plugin.settings import Settings

TIMEOUT = (5, 30)  # (connect, read) seconds
# When a THROTTLED answer carries no throttleStatus, wait this long (a guess, documented).
DEFAULT_THROTTLE_WAIT = 1.0


@dataclass(frozen=True)
class QueryCost:
    """`extensions.cost` of one answer: points requested and spent, and the shop's bucket."""

    requested: int
    actual: int | None  # None when the document did not run (THROTTLED)
    maximum: float
    available: float
    restore_rate: float  # points per second

    def wait_for(self, points: float) -> float:
        """Seconds until the bucket holds `points` (0 when it already does)."""
        if self.restore_rate <= 0:
            return DEFAULT_THROTTLE_WAIT
        return max(0.0, (points - self.available) / self.restore_rate)


class Throttled(PlatformError):
    """Shopify refused the document for lack of points; `wait_seconds` until there are enough."""

    code = "platform_throttled"

    def __init__(self, detail: str, wait_seconds: float, cost: QueryCost | None) -> None:
        super().__init__(detail, retry_after=wait_seconds)
        self.wait_seconds = wait_seconds
        self.cost = cost


class AccessDenied(PlatformError):
    """Shopify answered ACCESS_DENIED: a scope, or (bulk operations) the Partner Dashboard
    permission is missing. Retrying cannot help."""

    code = "platform_access_denied"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, transient=False, status_code=200)


class UserErrors(PlatformError):
    """A mutation ran but refused its input (`userErrors`): retrying cannot help."""

    code = "platform_user_errors"

    def __init__(self, detail: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(detail, transient=False)
        self.errors = errors

    @property
    def messages(self) -> list[str]:
        return [str(e.get("message", "")) for e in self.errors]


class AdminClient:
    """Admin GraphQL of one shop with one access token (get it from `plugin.shops.tokens`).

    After each call `last_cost` holds that answer's cost and throttle status (None when the
    answer had none, e.g. a 5xx), so callers can pace themselves before hitting THROTTLED.
    """

    def __init__(
        self,
        http: requests.Session,
        settings: Settings,
        shop: str,
        access_token: str,
        *,
        timeout: float | tuple[float, float] = TIMEOUT,
    ) -> None:
        self.http = http
        self.shop = shop
        self.url = (
            f"{settings.shop_base_url(shop)}/admin/api/{settings.shopify_api_version}/graphql.json"
        )
        self.timeout = timeout
        self.last_cost: QueryCost | None = None
        self._token = access_token

    def execute(
        self, document: Document, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The `data` of the answer; raises PlatformError (see `transient`) otherwise.

        Throttled (transient, with `wait_seconds`) when the shop's bucket lacks the points;
        a PlatformError with `retry_after` when a 429/5xx carried a Retry-After header.
        """
        self.last_cost = None
        headers = {"X-Shopify-Access-Token": self._token, "Accept": "application/json"}
        body: dict[str, Any] = {"query": document.text, "variables": variables or {}}
        try:
            response = self.http.post(self.url, json=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            # A read timeout may come after the document ran: callers must stay idempotent.
            raise PlatformError(
                f"{self.shop}: {document.name} failed: {type(exc).__name__}"
            ) from exc
        answer = _body(f"{self.shop}: {document.name}", response)
        self.last_cost = parse_cost(answer.get("extensions"))
        return _data(f"{self.shop}: {document.name}", answer, self.last_cost)


def parse_cost(extensions: Any) -> QueryCost | None:
    """The QueryCost of an answer's `extensions`, or None when it carries none."""
    cost = (extensions or {}).get("cost") if isinstance(extensions, dict) else None
    if not isinstance(cost, dict):
        return None
    throttle = cost.get("throttleStatus") or {}
    actual = cost.get("actualQueryCost")
    return QueryCost(
        requested=int(cost.get("requestedQueryCost") or 0),
        actual=None if actual is None else int(actual),
        maximum=float(throttle.get("maximumAvailable") or 0),
        available=float(throttle.get("currentlyAvailable") or 0),
        restore_rate=float(throttle.get("restoreRate") or 0),
    )


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header (seconds or an HTTP date) in seconds; None when absent or bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _body(where: str, response: requests.Response) -> dict[str, Any]:
    status = response.status_code
    if status == 429 or status >= 500:
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        raise PlatformError(f"{where} answered {status}", status_code=status, retry_after=wait)
    if status != 200:
        raise PlatformError(f"{where} answered {status}", transient=False, status_code=status)
    try:
        body = response.json()
    except ValueError as exc:
        raise PlatformError(f"{where} answered with something other than JSON") from exc
    if not isinstance(body, dict):
        raise PlatformError(f"{where} answered with something other than a JSON object")
    return body


def _data(where: str, body: dict[str, Any], cost: QueryCost | None) -> dict[str, Any]:
    _raise_errors(where, body.get("errors"), cost)
    data: dict[str, Any] = body.get("data") or {}
    _raise_user_errors(where, data)
    return data


def _raise_errors(where: str, errors: Any, cost: QueryCost | None) -> None:
    if not errors:
        return
    errors = errors if isinstance(errors, list) else [{"message": str(errors)}]
    codes = {str((e.get("extensions") or {}).get("code", "")) for e in errors}
    messages = "; ".join(str(e.get("message", "")) for e in errors)
    if "THROTTLED" in codes:
        wait = cost.wait_for(cost.requested) if cost else DEFAULT_THROTTLE_WAIT
        raise Throttled(f"{where} was throttled", wait, cost)
    if "ACCESS_DENIED" in codes:
        raise AccessDenied(f"{where} was denied: {messages}")
    raise PlatformError(f"{where} failed: {messages}", transient=False, status_code=200)


def _raise_user_errors(where: str, data: dict[str, Any]) -> None:
    errors = [
        e
        for payload in data.values()
        if isinstance(payload, dict)
        for e in payload.get("userErrors") or []
    ]
    if errors:
        text = "; ".join(str(e.get("message", "")) for e in errors)
        raise UserErrors(f"{where} refused: {text}", errors)
