"""Shopify's calculated query cost (an approximation) and the per-shop leaky bucket it drains.

The rule, after shopify.dev "GraphQL Admin API rate limits": scalars and enums cost 0, an
object 1, a connection 2 plus its page size (`first`/`last`) times the cost of one item, a
list of objects its length (`ids:`) times an item, and a mutation field a flat 10. Fragments
on different types cost the most expensive one. The requested cost is computed before
execution from the document; the actual cost from the data that came back (fewer edges,
null objects), and the difference is refunded, as Shopify does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
)
from graphql.utilities import get_operation_ast, value_from_ast

MUTATION_COST = 10
OBJECT_COST = 1
CONNECTION_COST = 2
# Paging wrappers are part of the connection's own 2 points.
FREE_TYPES = ("PageInfo",)
SIZE_ARGUMENTS = ("first", "last", "ids")


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: dict[str, Any] | None,
    operation_name: str | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """The requested cost (no `data`) or the actual cost of the answer `data`."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    walker = _Walker(schema, fragments, variables or {})
    if operation.operation == OperationType.MUTATION:
        return MUTATION_COST * len(walker.fields(operation.selection_set))
    root = schema.query_type
    if root is None:
        return 0
    return walker.selections(root, operation.selection_set, data, 1)


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def fields(self, selection_set: SelectionSetNode) -> list[FieldNode]:
        """The fields of a selection set with fragments flattened in."""
        found: list[FieldNode] = []
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                found.extend(self.fields(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    found.extend(self.fields(fragment.selection_set))
        return found

    def selections(
        self, parent: GraphQLNamedType, selection_set: SelectionSetNode, data: Any, size: int
    ) -> int:
        # Fields on the parent add up; fragments on other types are alternatives: the max.
        total = 0
        alternatives = [0]
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(parent, selection, data, size)
                continue
            if isinstance(selection, InlineFragmentNode):
                condition, inner = selection.type_condition, selection.selection_set
            elif isinstance(selection, FragmentSpreadNode) and (
                fragment := self.fragments.get(selection.name.value)
            ):
                condition, inner = fragment.type_condition, fragment.selection_set
            else:
                continue
            kind = self.schema.get_type(condition.name.value) if condition else parent
            if kind is not None:
                alternatives.append(self.selections(kind, inner, data, size))
        return total + max(alternatives)

    def field(self, parent: GraphQLNamedType, node: FieldNode, data: Any, size: int) -> int:
        definition = getattr(parent, "fields", {}).get(node.name.value)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named) or node.selection_set is None:
            return 0
        value = None
        if data is not None:
            value = data.get((node.alias or node.name).value) if isinstance(data, dict) else None
            if value is None:
                return 0  # a null object or a fragment of another type: nothing was read
        args = self.arguments(definition, node)
        if named.name.endswith("Connection"):
            page = int(args.get("first") or args.get("last") or 0)
            return CONNECTION_COST + self.selections(named, node.selection_set, value, page)
        own = 0 if named.name.endswith("Edge") or named.name in FREE_TYPES else OBJECT_COST
        if isinstance(get_nullable_type(definition.type), GraphQLList):
            if value is not None:
                items = [item for item in value if item is not None]
                return sum(own + self.selections(named, node.selection_set, i, 1) for i in items)
            count = len(args["ids"]) if isinstance(args.get("ids"), list) else size
            return count * (own + self.selections(named, node.selection_set, None, 1))
        return own + self.selections(named, node.selection_set, value, 1)

    def arguments(self, definition: GraphQLField, node: FieldNode) -> dict[str, Any]:
        """The paging arguments that set a cost (`first`, `last`, `ids`), variables filled in."""
        found = {}
        for argument in node.arguments or ():
            name = argument.name.value
            if name in SIZE_ARGUMENTS and name in definition.args:
                found[name] = value_from_ast(
                    argument.value, definition.args[name].type, self.variables
                )
        return found


@dataclass
class Bucket:
    """One shop's leaky bucket: `available` points at time `updated`, refilling continuously."""

    available: float
    updated: float

    def refill(self, size: float, rate: float, now: float) -> float:
        self.available = min(size, self.available + max(0.0, now - self.updated) * rate)
        self.updated = now
        return self.available

    def status(self, size: float, rate: float) -> dict[str, float]:
        return {
            "maximumAvailable": float(size),
            "currentlyAvailable": float(math.floor(min(size, self.available))),
            "restoreRate": float(rate),
        }
