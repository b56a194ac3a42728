"""The Admin client reads Shopify's cost and throttle status, Throttled waits and Retry-After."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from plugin.errors import PlatformError
from plugin.platforms.shopify.bulk import failed_line_numbers
from plugin.platforms.shopify.client import (
    AdminClient,
    QueryCost,
    Throttled,
    parse_cost,
    retry_after_seconds,
)
from plugin.platforms.shopify.documents import SHOP_INFO
from plugin.settings import Settings

SHOP = "unit.myshopify.com"


def cost(requested: int, actual: int | None, available: float) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": 1000.0,
                "currentlyAvailable": available,
                "restoreRate": 50.0,
            },
        }
    }


class Canned(requests.adapters.BaseAdapter):
    """Answers every request with the next canned (status, body, headers)."""

    def __init__(self, answers: list[tuple[int, Any, dict[str, str]]]) -> None:
        super().__init__()
        self.answers = answers

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        status, body, headers = self.answers.pop(0)
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode()
        response.headers.update(headers)
        response.request = request
        return response

    def close(self) -> None:
        pass


def client(*answers: tuple[int, Any, dict[str, str]]) -> AdminClient:
    http = requests.Session()
    http.mount("http://", Canned(list(answers)))
    settings = Settings(shopify_base_url="http://{shop}")
    return AdminClient(http, settings, SHOP, "shpat_x")


def test_last_cost_is_parsed_after_each_call_and_cleared_by_a_call_without_one() -> None:
    api = client((200, {"data": {"shop": {}}, "extensions": cost(12, 4, 988.0)}, {}), (503, {}, {}))
    api.execute(SHOP_INFO)
    assert api.last_cost == QueryCost(12, 4, 1000.0, 988.0, 50.0)
    with pytest.raises(PlatformError):
        api.execute(SHOP_INFO)
    assert api.last_cost is None


def test_throttled_carries_the_wait_for_the_missing_points() -> None:
    throttled = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}
    api = client((200, {**throttled, "extensions": cost(252, None, 2.0)}, {}))
    with pytest.raises(Throttled) as info:
        api.execute(SHOP_INFO)
    assert info.value.transient
    assert info.value.wait_seconds == pytest.approx((252 - 2) / 50)
    assert info.value.retry_after == info.value.wait_seconds
    assert api.last_cost is not None and api.last_cost.actual is None


def test_throttled_without_a_throttle_status_still_waits_a_little() -> None:
    throttled = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}
    with pytest.raises(Throttled) as info:
        client((200, throttled, {})).execute(SHOP_INFO)
    assert info.value.wait_seconds > 0


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retry_after_of_a_429_or_5xx_is_kept(status: int) -> None:
    with pytest.raises(PlatformError) as info:
        client((status, {"errors": "busy"}, {"Retry-After": "4"})).execute(SHOP_INFO)
    assert (info.value.transient, info.value.status_code, info.value.retry_after) == (
        True,
        status,
        4.0,
    )


def test_a_5xx_without_retry_after_has_none() -> None:
    with pytest.raises(PlatformError) as info:
        client((502, {}, {})).execute(SHOP_INFO)
    assert info.value.retry_after is None


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("2.5") == 2.5
    assert retry_after_seconds("Sun, 01 Mar 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Sun, 01 Mar 2026 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_wait_for_points_already_there_is_zero() -> None:
    status = QueryCost(10, 10, 2000.0, 500.0, 100.0)
    assert status.wait_for(10) == 0.0 and status.wait_for(700) == pytest.approx(2.0)


def test_parse_cost_of_answers_without_extensions_is_none() -> None:
    assert parse_cost(None) is None and parse_cost({"other": 1}) is None


def test_failed_bulk_lines_are_those_with_errors_or_user_errors() -> None:
    results = [
        {"data": {"tagsAdd": {"node": {"id": "a"}, "userErrors": []}}, "__lineNumber": 0},
        {"data": {"tagsAdd": {"node": None, "userErrors": [{"message": "x"}]}}, "__lineNumber": 1},
        {"errors": [{"message": "Variable $id is invalid"}], "__lineNumber": 2},
        {"data": {"tagsAdd": {"node": {"id": "d"}, "userErrors": []}}, "__lineNumber": 3},
    ]
    assert failed_line_numbers(results) == [1, 2]
