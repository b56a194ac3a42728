"""Shopify's schema for the simulator and the registry of root-field resolvers it executes."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, build_schema, parse, validate
from graphql.validation import NoDeprecatedCustomRule, specified_rules

from plugin.platforms.shopify.simulator.state import IssuedToken, SimulatorState

# The repository sits next to `shared/`, which holds Shopify's published schema.
DEFAULT_SCHEMA_PATH = (
    Path(__file__).resolve().parents[4].parent / "shared" / "shopify" / "admin-2026-01.graphql"
)
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


@cache
def load_schema(path: Path) -> GraphQLSchema:
    # assume_valid: the published SDL has deprecation quirks graphql-core would reject.
    return build_schema(path.read_text(encoding="utf-8"), assume_valid=True)


def checked_document(schema: GraphQLSchema, query: str) -> tuple[DocumentNode | None, list[str]]:
    """The parsed document, or None and why it is refused (syntax, schema, deprecated fields)."""
    try:
        document = parse(query)
    except GraphQLError as exc:
        return None, [exc.message]
    errors = [error.message for error in validate(schema, document, RULES)]
    return (None, errors) if errors else (document, [])
