"""Shopify bulk operations: upload a JSONL of variables, run a bulk mutation, poll, read results.

The steps, as shopify.dev "Bulk import data" describes them: `stagedUploadsCreate` gives a
storage target, the file goes there as a multipart form POST (the target's parameters, then
`file`), `bulkOperationRunMutation` runs the inner mutation once per line, `bulkOperation(id:)`
reports progress, and the result file holds one JSON line per input line (`__lineNumber`,
counted from 0) with that line's `data` (and its `userErrors`) or `errors`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests

from plugin.errors import PlatformError
from plugin.platforms.shopify.client import AdminClient, UserErrors
from plugin.platforms.shopify.documents import (
    BULK_OPERATION_RUN_MUTATION,
    BULK_OPERATION_RUN_QUERY,
    BULK_OPERATION_STATUS,
    STAGED_UPLOADS_CREATE,
    Document,
)

FILE_TIMEOUT = (5, 120)  # (connect, read) seconds for uploads and result downloads
FINISHED = ("COMPLETED", "FAILED", "CANCELED", "EXPIRED")


@dataclass(frozen=True)
class BulkStatus:
    id: str
    status: str  # CREATED | RUNNING | COMPLETED | FAILED | CANCELING | CANCELED | EXPIRED
    error_code: str | None
    object_count: int
    url: str | None  # the result JSONL once COMPLETED (None when there were no lines)
    partial_data_url: str | None  # what a FAILED operation managed to produce
    completed_at: str | None = None  # ISO instant; the url works for seven days after it

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def completed(self) -> bool:
        return self.status == "COMPLETED"


class BulkInProgress(PlatformError):
    """The shop still runs another bulk operation of this kind: try again after it finishes."""

    code = "platform_bulk_in_progress"


def upload_jsonl(
    client: AdminClient,
    http: requests.Session,
    lines: list[dict[str, Any]],
    *,
    filename: str = "bulk_op_vars.jsonl",
) -> str:
    """Stage `lines` (one variables object each) for a bulk mutation; the stagedUploadPath."""
    body = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines).encode()
    item = {
        "resource": "BULK_MUTATION_VARIABLES",
        "filename": filename,
        "mimeType": "text/jsonl",
        "httpMethod": "POST",
    }
    targets = client.execute(STAGED_UPLOADS_CREATE, {"input": [item]})["stagedUploadsCreate"]
    target = (targets.get("stagedTargets") or [None])[0]
    if not target or not target.get("url"):
        raise PlatformError(f"{client.shop}: stagedUploadsCreate gave no target", transient=False)
    fields = {p["name"]: p["value"] for p in target["parameters"]}
    where = f"{client.shop}: staged upload"
    try:
        response = http.post(
            target["url"],
            data=fields,  # sent before the file, as the storage requires
            files={"file": (filename, body, "text/jsonl")},
            timeout=FILE_TIMEOUT,
        )
    except requests.RequestException as exc:
        raise PlatformError(f"{where} failed: {type(exc).__name__}") from exc
    _check_file_status(where, response)
    return str(fields["key"])


def run_bulk_mutation(
    client: AdminClient,
    inner: Document,
    staged_path: str,
    *,
    client_identifier: str | None = None,
) -> str:
    """Start `inner` over the staged lines; the bulk operation's id. BulkInProgress if busy."""
    variables = {
        "mutation": inner.text,
        "stagedUploadPath": staged_path,
        "clientIdentifier": client_identifier,
    }
    return _launch(client, BULK_OPERATION_RUN_MUTATION, variables, "bulkOperationRunMutation")


def run_bulk_query(client: AdminClient, inner: Document) -> str:
    """Start a bulk query (e.g. BULK_CUSTOMERS_TAGS); the bulk operation's id."""
    return _launch(client, BULK_OPERATION_RUN_QUERY, {"query": inner.text}, "bulkOperationRunQuery")


def _launch(client: AdminClient, document: Document, variables: dict[str, Any], field: str) -> str:
    try:
        data = client.execute(document, variables)
    except UserErrors as exc:
        if any(e.get("code") == "OPERATION_IN_PROGRESS" for e in exc.errors):
            raise BulkInProgress(exc.detail) from exc
        raise
    operation = data[field]["bulkOperation"]
    if not operation:
        raise PlatformError(f"{client.shop}: {document.name} started nothing", transient=False)
    return str(operation["id"])


def bulk_status(client: AdminClient, op_id: str) -> BulkStatus:
    """Where the bulk operation `op_id` stands (poll until `finished`)."""
    node = client.execute(BULK_OPERATION_STATUS, {"id": op_id})["bulkOperation"]
    if node is None:
        raise PlatformError(f"{client.shop}: no bulk operation {op_id}", transient=False)
    return BulkStatus(
        id=str(node["id"]),
        status=str(node["status"]),
        error_code=node.get("errorCode"),
        object_count=int(node.get("objectCount") or 0),  # UnsignedInt64 comes as a string
        url=node.get("url"),
        partial_data_url=node.get("partialDataUrl"),
        completed_at=node.get("completedAt"),
    )


def read_results(http: requests.Session, url: str | None) -> list[dict[str, Any]]:
    """The lines of a result file (each with `__lineNumber` for a mutation); [] for no file."""
    if not url:
        return []
    where = "bulk operation result"
    try:
        response = http.get(url, timeout=FILE_TIMEOUT)
    except requests.RequestException as exc:
        raise PlatformError(f"{where} failed: {type(exc).__name__}") from exc
    _check_file_status(where, response)
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def failed_line_numbers(results: list[dict[str, Any]]) -> list[int]:
    """The `__lineNumber`s whose result has `errors` or any non-empty `userErrors`."""
    return [
        int(line["__lineNumber"])
        for line in results
        if "__lineNumber" in line
        and (
            line.get("errors")
            or any(
                isinstance(payload, dict) and payload.get("userErrors")
                for payload in (line.get("data") or {}).values()
            )
        )
    ]


def _check_file_status(where: str, response: requests.Response) -> None:
    status = response.status_code
    if status == 429 or status >= 500:
        raise PlatformError(f"{where} answered {status}", status_code=status)
    if not 200 <= status < 300:
        raise PlatformError(f"{where} answered {status}", transient=False, status_code=status)
