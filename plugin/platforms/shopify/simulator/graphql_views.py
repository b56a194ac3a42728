"""The simulated Admin GraphQL API: token check, schema validation, a resolver per root field."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from graphql import GraphQLError, GraphQLSchema, build_schema, graphql_sync, parse, validate
from graphql.validation import NoDeprecatedCustomRule, specified_rules

from plugin.platforms.shopify.simulator.oauth_views import sim
from plugin.platforms.shopify.simulator.state import IssuedToken, RecordedRequest, SimulatorState

# The repository sits next to `shared/`, which holds Shopify's published schema.
DEFAULT_SCHEMA_PATH = (
    Path(__file__).resolve().parents[4].parent / "shared" / "shopify" / "admin-2026-01.graphql"
)
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
RULES = [*specified_rules, NoDeprecatedCustomRule]

blueprint = Blueprint("graphql", __name__)

# Root field name -> a function of (state, shop domain, calling token) giving that field's
# value or resolver. Later simulations add their queries and mutations here.
Resolver = Callable[[SimulatorState, str, IssuedToken], Any]
RESOLVERS: dict[str, Resolver] = {}


def resolver(name: str) -> Callable[[Resolver], Resolver]:
    def register(fn: Resolver) -> Resolver:
        RESOLVERS[name] = fn
        return fn

    return register


@cache
def load_schema(path: Path) -> GraphQLSchema:
    # assume_valid: the published SDL has deprecation quirks graphql-core would reject.
    return build_schema(path.read_text(encoding="utf-8"), assume_valid=True)


def document_errors(schema: GraphQLSchema, query: str) -> list[str]:
    """Why a document would be refused (syntax, schema, deprecated fields); empty when fine."""
    try:
        document = parse(query)
    except GraphQLError as exc:
        return [exc.message]
    return [error.message for error in validate(schema, document, RULES)]


@blueprint.post("/<shop>/admin/api/<version>/graphql.json")
def graphql(shop: str, version: str) -> Any:
    state = sim()
    body = request.get_json(silent=True) or {}
    record = state.record(RecordedRequest("graphql", shop, body, dict(request.headers)))
    status, answer = _answer(state, shop, body, request.headers.get("X-Shopify-Access-Token"))
    record.status = status
    return jsonify(answer), status


def _answer(
    state: SimulatorState, shop: str, body: dict[str, Any], token_value: str | None
) -> tuple[int, dict[str, Any]]:
    switches = state.switches
    if switches.graphql_status:
        return switches.graphql_status, {"errors": "simulated failure"}
    token = state.token(token_value or "")
    if token is None or token.shop != shop or not token.usable(time.time()):
        return 401, {"errors": INVALID_TOKEN}
    with state.lock:
        throttled = switches.throttle_graphql > 0
        switches.throttle_graphql -= int(throttled)
    if throttled:
        return 200, {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}
    query = str(body.get("query") or "")
    schema = load_schema(Path(current_app.config["SIMULATOR_SCHEMA"]))
    errors = document_errors(schema, query)
    if errors:
        return 200, {"errors": [{"message": m} for m in errors]}
    return 200, _execute(state, shop, token, schema, query, body)


def _execute(
    state: SimulatorState,
    shop: str,
    token: IssuedToken,
    schema: GraphQLSchema,
    query: str,
    body: dict[str, Any],
) -> dict[str, Any]:
    root = {name: make(state, shop, token) for name, make in RESOLVERS.items()}
    result = graphql_sync(
        schema,
        query,
        root_value=root,
        variable_values=body.get("variables"),
        operation_name=body.get("operationName"),
    )
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [{"message": e.message, "path": e.path} for e in result.errors]
    answer["extensions"] = {
        "cost": {
            "requestedQueryCost": 1,
            "actualQueryCost": 1,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": 1999.0,
                "restoreRate": 100.0,
            },
        }
    }
    return answer


@resolver("shop")
def _shop(state: SimulatorState, shop: str, _token: IssuedToken) -> dict[str, Any]:
    data = state.shop(shop)
    return {
        "id": f"gid://shopify/Shop/{data.shop_id}",
        "name": data.name,
        "myshopifyDomain": data.domain,
        "ianaTimezone": data.timezone,
        "currencyCode": data.currency,
    }


@resolver("webhookSubscriptionCreate")
def _webhook_subscription_create(
    state: SimulatorState, shop: str, _token: IssuedToken
) -> Callable[..., Any]:
    def create(_info: Any, topic: str, webhookSubscription: dict[str, Any]) -> dict[str, Any]:
        uri = webhookSubscription.get("uri") or ""
        if not uri:
            return {
                "webhookSubscription": None,
                "userErrors": [
                    {"field": ["webhookSubscription", "uri"], "message": "Address can't be blank"}
                ],
            }
        sub = state.add_subscription(shop, topic, uri)
        if sub is None:
            return {
                "webhookSubscription": None,
                "userErrors": [
                    {
                        "field": ["webhookSubscription", "uri"],
                        "message": "Address for this topic has already been taken",
                    }
                ],
            }
        return {"webhookSubscription": sub, "userErrors": []}

    return create


@resolver("currentAppInstallation")
def _current_app_installation(
    _state: SimulatorState, _shop: str, token: IssuedToken
) -> dict[str, Any]:
    return {"accessScopes": [{"handle": scope} for scope in token.scopes]}


@resolver("nodes")
def _nodes(state: SimulatorState, shop: str, _token: IssuedToken) -> Callable[..., Any]:
    def nodes(_info: Any, ids: list[str]) -> list[dict[str, Any] | None]:
        catalogue = state.products.get(shop, {})
        return [catalogue.get(gid.rsplit("/", 1)[-1]) for gid in ids]

    return nodes
