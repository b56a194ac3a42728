"""The simulated Admin GraphQL API: faults, token check, schema validation, cost, resolvers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from graphql import DocumentNode, GraphQLSchema, execute_sync

# The resolver modules register their root fields on import.
import plugin.platforms.shopify.simulator.bulk_resolvers
import plugin.platforms.shopify.simulator.customer_resolvers
import plugin.platforms.shopify.simulator.history_resolvers
import plugin.platforms.shopify.simulator.shop_resolvers  # noqa: F401
from plugin.platforms.shopify.admin_schema import load_schema
from plugin.platforms.shopify.simulator.cost import query_cost
from plugin.platforms.shopify.simulator.oauth_views import sim
from plugin.platforms.shopify.simulator.registry import checked_document, root_value
from plugin.platforms.shopify.simulator.state import IssuedToken, RecordedRequest, SimulatorState

INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
THROTTLED = {
    "message": "Throttled",
    "extensions": {
        "code": "THROTTLED",
        "documentation": "https://shopify.dev/api/usage/rate-limits",
    },
}
FAULT_BODIES = {
    429: {"errors": "Exceeded the rate limit of the simulated shop. Retry later."},
    500: {"errors": "Internal Server Error"},
    502: {"errors": "Bad Gateway"},
    503: {"errors": "Service Unavailable"},
    504: {"errors": "Gateway Timeout"},
}

blueprint = Blueprint("graphql", __name__)

Answer = tuple[int, dict[str, Any]]


@blueprint.post("/<shop>/admin/api/<version>/graphql.json")
def graphql(shop: str, version: str) -> Any:
    state = sim()
    body = request.get_json(silent=True) or {}
    record = state.record(RecordedRequest("graphql", shop, body, dict(request.headers)))
    token = request.headers.get("X-Shopify-Access-Token")
    status, answer = _with_faults(state, shop, body, token)
    record.status = status
    response = jsonify(answer)
    retry_after = state.switches.retry_after
    if retry_after is not None and (status == 429 or status >= 500):
        response.headers["Retry-After"] = f"{retry_after:g}"
    return response, status


def _with_faults(
    state: SimulatorState, shop: str, body: dict[str, Any], token: str | None
) -> Answer:
    """One draw decides the request's fault; a timeout answers only after `timeout_delay`."""
    switches = state.switches
    fault = state.traffic.draw_fault()
    if _late_once(switches, body):
        answer = _answer(state, shop, body, token)
        time.sleep(switches.timeout_delay)
        return answer
    if fault == "error":
        return switches.error_status, FAULT_BODIES.get(switches.error_status, {"errors": "Error"})
    if fault == "rate_limit":
        return 429, FAULT_BODIES[429]
    if fault == "timeout" and not switches.timeout_after_execute:
        # Too late for the client, and the document never ran: it gave up at the gateway.
        time.sleep(switches.timeout_delay)
        return 504, FAULT_BODIES[504]
    answer = _answer(state, shop, body, token)
    if fault == "timeout":
        time.sleep(switches.timeout_delay)  # it ran, but the client stops waiting first
    return answer


def _late_once(switches: Any, body: dict[str, Any]) -> bool:
    """Whether this request's operation was named in `late_once` (and is now taken out)."""
    query = str(body.get("query") or "")
    for name in list(switches.late_once):
        if body.get("operationName") == name or f" {name}(" in query or f" {name} " in query:
            switches.late_once.discard(name)
            return True
    return False


def _answer(
    state: SimulatorState, shop: str, body: dict[str, Any], token_value: str | None
) -> Answer:
    switches = state.switches
    if switches.graphql_status:
        return switches.graphql_status, {"errors": "simulated failure"}
    token = state.token(token_value or "")
    if token is None or token.shop != shop or not token.usable(time.time()):
        return 401, {"errors": INVALID_TOKEN}
    schema = load_schema(Path(current_app.config["SIMULATOR_SCHEMA"]))
    document, errors = checked_document(schema, str(body.get("query") or ""))
    if document is None:
        return 200, _with_cost(state, shop, {"errors": [{"message": m} for m in errors]}, 0, 0)
    return 200, _charged(state, shop, token, schema, document, body)


def _charged(
    state: SimulatorState,
    shop: str,
    token: IssuedToken,
    schema: GraphQLSchema,
    document: DocumentNode,
    body: dict[str, Any],
) -> dict[str, Any]:
    """Run the document if the shop's bucket holds its requested cost; refund what it saved."""
    variables, operation = body.get("variables") or {}, body.get("operationName")
    requested = query_cost(schema, document, variables, operation)
    limit = state.switches.max_query_cost
    if requested > limit:
        message = (
            f"Query cost is {requested}, which exceeds the single query max cost limit ({limit})."
        )
        error = {"message": message, "extensions": {"code": "MAX_COST_EXCEEDED"}}
        return _with_cost(state, shop, {"errors": [error]}, requested, None)
    if _forced_throttle(state, shop):
        return _with_cost(state, shop, {"errors": [THROTTLED]}, requested, None)
    enough, status = state.traffic.take_points(shop, requested)
    if not enough:
        return {"errors": [THROTTLED], "extensions": {"cost": _cost(requested, None, status)}}
    result = execute_sync(
        schema,
        document,
        root_value=root_value(state, shop, token),
        variable_values=variables,
        operation_name=operation,
    )
    actual = min(requested, query_cost(schema, document, variables, operation, result.data or {}))
    status = state.traffic.refund_points(shop, requested - actual)
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [_error(e) for e in result.errors]
    answer["extensions"] = {"cost": _cost(requested, actual, status)}
    return answer


def _error(error: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"message": error.message, "path": error.path}
    if error.extensions:
        body["extensions"] = error.extensions
    return body


def _forced_throttle(state: SimulatorState, shop: str) -> bool:
    """The `throttle_graphql` switch: the next N requests are THROTTLED whatever the bucket."""
    with state.lock:
        forced = state.switches.throttle_graphql > 0
        state.switches.throttle_graphql -= int(forced)
    if forced:
        state.traffic.count_throttled(shop)
    return forced


def _with_cost(
    state: SimulatorState, shop: str, answer: dict[str, Any], requested: int, actual: int | None
) -> dict[str, Any]:
    return {
        **answer,
        "extensions": {"cost": _cost(requested, actual, state.traffic.throttle_status(shop))},
    }


def _cost(requested: int, actual: int | None, status: dict[str, float]) -> dict[str, Any]:
    """`extensions.cost` as Shopify sends it (`actualQueryCost` is null when nothing ran)."""
    return {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": status}
