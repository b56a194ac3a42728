"""Shopify's schema for the simulator and the registry of root-field resolvers it executes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse, validate
from graphql.validation import NoDeprecatedCustomRule, specified_rules

from plugin.platforms.shopify.admin_schema import schema_path
from plugin.platforms.shopify.simulator.state import IssuedToken, SimulatorState

# The vendored schema of the version the app speaks by default (package data).
DEFAULT_SCHEMA_PATH = schema_path()
RULES = [*specified_rules, NoDeprecatedCustomRule]

# Root field name -> a function of (state, shop domain, calling token) giving that field's
# value or resolver (called with graphql-core's `info` and the field's arguments).
Resolver = Callable[[SimulatorState, str, IssuedToken], Any]
RESOLVERS: dict[str, Resolver] = {}


def resolver(name: str) -> Callable[[Resolver], Resolver]:
    def register(fn: Resolver) -> Resolver:
        RESOLVERS[name] = fn
        return fn

    return register


def root_value(state: SimulatorState, shop: str, token: IssuedToken) -> dict[str, Any]:
    """Every registered root field, bound to one shop and token."""
    return {name: make(state, shop, token) for name, make in RESOLVERS.items()}


def checked_document(schema: GraphQLSchema, query: str) -> tuple[DocumentNode | None, list[str]]:
    """The parsed document, or None and why it is refused (syntax, schema, deprecated fields)."""
    try:
        document = parse(query)
    except GraphQLError as exc:
        return None, [exc.message]
    errors = [error.message for error in validate(schema, document, RULES)]
    return (None, errors) if errors else (document, [])
