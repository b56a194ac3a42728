"""The registry of GraphQL documents: each registered once under its operation name, with
what the pacer books for it before Shopify has reported its cost."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from graphql import OperationDefinitionNode, OperationType, parse

MUTATION_FIELD_COST = 10  # Shopify: "Mutations: 10" per mutation field, before its selection
QUERY_GUESS = 10.0  # a query's cost before Shopify has told it (learned from the first answer)


@dataclass(frozen=True)
class Document:
    name: str
    text: str

    @cached_property
    def first_call_cost(self) -> float:
        """What to book for this document before Shopify has reported its requested cost:
        10 per mutation field (a two-field mutation costs 20 from the first call on)."""
        for definition in parse(self.text).definitions:
            if isinstance(definition, OperationDefinitionNode):
                if definition.operation is OperationType.MUTATION:
                    return float(MUTATION_FIELD_COST * len(definition.selection_set.selections))
                break
        return QUERY_GUESS


DOCUMENTS: dict[str, Document] = {}


def document(name: str, text: str) -> Document:
    """Register a document under its operation name (which must be unique)."""
    if name in DOCUMENTS:
        raise ValueError(f"GraphQL document {name} is registered twice")
    DOCUMENTS[name] = Document(name, text.strip())
    return DOCUMENTS[name]
