"""Connections as Shopify pages them: forward with `first`/`after` and opaque cursors, a
bulk query reading everything; nested connections (a customer's addresses, an order's line
items) page by the same rules as the top-level ones."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo


def context(info: GraphQLResolveInfo) -> dict[str, Any]:
    """What a bulk run tells resolvers (`bulk`, `fail`); empty for an ordinary request."""
    return info.context if isinstance(info.context, dict) else {}


def connection_of(nodes: list[dict[str, Any]], first: int | None, after: str | None) -> Any:
    """One page (or, with no `first`, the rest) of `nodes` as a connection."""
    start = _offset(after)
    page = nodes[start : start + first] if first is not None else nodes[start:]
    return _connection(page, start, len(nodes))


def forward_page(
    info: GraphQLResolveInfo, first: int | None, after: str | None, rest: dict[str, Any]
) -> tuple[int | None, str | None]:
    """The page a connection field was asked for: forward only, `first` required outside a
    bulk query (Shopify: "you must provide one of first or last")."""
    if rest.get("last") is not None or rest.get("before") is not None:
        raise GraphQLError("The simulator pages forward only (first/after)")
    if first is None and not context(info).get("bulk"):
        raise GraphQLError("you must provide one of first or last")
    return first, after


def nested(nodes: list[dict[str, Any]]) -> Callable[..., Any]:
    """A connection field of a node dict: graphql-core's default resolver calls it with the
    field's arguments, so `addressesV2(first: 5)` gets five and a `hasNextPage`."""

    def field(
        info: GraphQLResolveInfo, first: int | None = None, after: str | None = None, **rest: Any
    ) -> Any:
        return connection_of(nodes, *forward_page(info, first, after, rest))

    return field


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1]) + 1
    except (ValueError, IndexError) as exc:
        raise GraphQLError(f"Invalid cursor {cursor!r}") from exc


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:{index}".encode()).decode()


def _connection(nodes: list[dict[str, Any]], start: int, total: int) -> dict[str, Any]:
    cursors = [_cursor(start + i) for i in range(len(nodes))]
    return {
        "edges": [{"node": n, "cursor": c} for n, c in zip(nodes, cursors, strict=True)],
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": start + len(nodes) < total,
            "hasPreviousPage": start > 0,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }
