"""Simulated bulk operations: one record per operation and the background run that fills it."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql import DocumentNode, GraphQLSchema, execute_sync

FINISHED = ("COMPLETED", "FAILED", "CANCELED", "EXPIRED")
LINE_FAILURE = "Simulated failure of this line"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class SimBulkOperation:
    op_id: int
    shop: str
    type: str  # MUTATION | QUERY
    query: str
    status: str = "CREATED"
    created_at: str = ""
    completed_at: str | None = None
    error_code: str | None = None
    object_count: int = 0
    root_object_count: int = 0
    result: bytes | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        self.created_at = self.created_at or now_iso()

    @property
    def gid(self) -> str:
        return f"gid://shopify/BulkOperation/{self.op_id}"

    @property
    def running(self) -> bool:
        return self.status not in FINISHED

    def node(self) -> dict[str, Any]:
        """As GraphQL resolves it; UnsignedInt64 values are strings, as Shopify sends them."""
        return {
            "__typename": "BulkOperation",
            "id": self.gid,
            "type": self.type,
            "status": self.status,
            "query": self.query,
            "createdAt": self.created_at,
            "completedAt": self.completed_at,
            "errorCode": self.error_code,
            "objectCount": str(self.object_count),
            "rootObjectCount": str(self.root_object_count),
            "fileSize": str(len(self.result)) if self.result is not None else None,
            "url": self.url,
            "partialDataUrl": None,
        }


Lines = list[dict[str, Any]]


class BulkAccessDenied(RuntimeError):
    """The query read a field the app may not: the operation fails with ACCESS_DENIED."""


def mutation_lines(
    schema: GraphQLSchema,
    document: DocumentNode,
    root: dict[str, Any],
    variables: Lines,
    failing: set[int],
) -> tuple[Lines, int]:
    """Run the inner mutation once per line; failing lines answer a userError instead."""
    lines = []
    for number, line_variables in enumerate(variables):
        context = {"bulk": True, "fail": LINE_FAILURE if number in failing else None}
        result = execute_sync(
            schema, document, root_value=root, variable_values=line_variables, context_value=context
        )
        line: dict[str, Any] = {"data": result.data}
        if result.errors:
            line["errors"] = [{"message": e.message} for e in result.errors]
        line["__lineNumber"] = number
        lines.append(line)
    return lines, len(lines)


def query_lines(
    schema: GraphQLSchema, document: DocumentNode, root: dict[str, Any], *, shuffle: bool = False
) -> tuple[Lines, int]:
    """Run a bulk query and flatten its connections into lines, children with `__parentId`.

    Since API 2026-01 (`groupObjects: false`) a child need not follow its parent; with
    `shuffle` the lines come in a random order (seeded), so importers must join them.
    """
    result = execute_sync(schema, document, root_value=root, context_value={"bulk": True})
    if result.errors:
        message = "; ".join(e.message for e in result.errors)
        if any((e.extensions or {}).get("code") == "ACCESS_DENIED" for e in result.errors):
            raise BulkAccessDenied(message)
        raise RuntimeError(message)
    lines: Lines = []
    roots = 0
    for value in (result.data or {}).values():
        for node in connection_nodes(value):
            roots += 1
            lines.extend(_flatten(node, None))
    if shuffle:
        random.Random(len(lines)).shuffle(lines)
    return lines, roots


def connection_nodes(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        return []
    if "edges" in value:
        return [edge["node"] for edge in value["edges"] or [] if edge.get("node")]
    return [node for node in value.get("nodes") or [] if node]


def _flatten(node: dict[str, Any], parent_id: str | None) -> Lines:
    own = {k: v for k, v in node.items() if not _is_connection(v)}
    if parent_id is not None:
        own["__parentId"] = parent_id
    lines = [own]
    for value in node.values():
        for child in connection_nodes(value):
            lines.extend(_flatten(child, node.get("id")))
    return lines


def _is_connection(value: Any) -> bool:
    return isinstance(value, dict) and ("edges" in value or "nodes" in value)


def parse_jsonl(data: bytes) -> Lines | None:
    """The variables of each line; None when the file is not JSONL of objects."""
    try:
        lines = [json.loads(text) for text in data.decode("utf-8").splitlines() if text.strip()]
    except (UnicodeDecodeError, ValueError):
        return None
    return lines if all(isinstance(line, dict) for line in lines) else None
