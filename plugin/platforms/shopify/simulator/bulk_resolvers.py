"""Resolvers of staged uploads and bulk operations (run mutation, run query, poll by id)."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLResolveInfo,
    OperationDefinitionNode,
)

import plugin.platforms.shopify.simulator.bulk_operations as bulk_operations
from plugin.platforms.shopify.simulator.bulk_operations import SimBulkOperation
from plugin.platforms.shopify.simulator.deliveries import deliver
from plugin.platforms.shopify.simulator.registry import checked_document, resolver, root_value
from plugin.platforms.shopify.simulator.shop_resolvers import lookup
from plugin.platforms.shopify.simulator.signing import staged_upload_signature
from plugin.platforms.shopify.simulator.state import IssuedToken, SimulatorState

BULK_MUTATIONS = ("tagsAdd", "tagsRemove")  # the inner mutations this simulator runs in bulk
UPLOAD_TTL = 3600


def _error(message: str, code: str, field: str | None = None) -> dict[str, Any]:
    return {"field": [field] if field else None, "message": message, "code": code}


@resolver("stagedUploadsCreate")
def _staged_uploads_create(
    state: SimulatorState, shop: str, _token: IssuedToken
) -> Callable[..., Any]:
    def create(_info: Any, input: list[dict[str, Any]]) -> dict[str, Any]:
        if any(item["resource"] != "BULK_MUTATION_VARIABLES" for item in input):
            message = "Only BULK_MUTATION_VARIABLES uploads are simulated"
            return {"stagedTargets": None, "userErrors": [{"field": ["input"], "message": message}]}
        return {"stagedTargets": [_target(state, shop, item) for item in input], "userErrors": []}

    return create


def _target(state: SimulatorState, shop: str, item: dict[str, Any]) -> dict[str, Any]:
    """A target like Shopify's (a signed form POST to a bucket, or a signed PUT URL)."""
    key = f"tmp/{state.shop(shop).shop_id}/bulk/{uuid.uuid4()}/{item['filename']}"
    policy = base64.b64encode(
        json.dumps({"key": key, "expiration": int(time.time()) + UPLOAD_TTL}).encode()
    ).decode()
    signature = staged_upload_signature(state.api_secret, policy)
    bucket = f"{state.root_url}/staged-uploads"
    if item.get("httpMethod") == "PUT":
        query = urlencode({"policy": policy, "signature": signature})
        parameters = {"content_type": item["mimeType"], "key": key}
        return _described(f"{bucket}/{key}?{query}", f"{bucket}/{key}", parameters)
    parameters = {
        "Content-Type": item["mimeType"],
        "success_action_status": "201",
        "acl": "private",
        "key": key,
        "x-goog-algorithm": "GOOG4-HMAC-SHA256",
        "x-goog-signature": signature,
        "policy": policy,
    }
    return _described(bucket, f"{bucket}/{key}", parameters)


def _described(url: str, resource_url: str, parameters: dict[str, str]) -> dict[str, Any]:
    return {
        "url": url,
        "resourceUrl": resource_url,
        "parameters": [{"name": k, "value": v} for k, v in parameters.items()],
    }


@resolver("bulkOperationRunMutation")
def _bulk_operation_run_mutation(
    state: SimulatorState, shop: str, token: IssuedToken
) -> Callable[..., Any]:
    def run(
        info: GraphQLResolveInfo, mutation: str, stagedUploadPath: str, **_options: Any
    ) -> dict[str, Any]:
        document, refusal = _inner_mutation(info, mutation)
        lines = None
        if document is not None:
            lines, refusal = _staged_lines(state, shop, stagedUploadPath)
        if refusal or document is None or lines is None:
            return {"bulkOperation": None, "userErrors": [refusal]}
        op = state.new_bulk_operation(shop, "MUTATION", mutation)
        if op is None:
            return {"bulkOperation": None, "userErrors": [_in_progress(state, shop, "mutation")]}
        root = root_value(state, shop, token)
        failing = set(state.switches.bulk_fail_lines)
        _start_operation(
            state,
            op,
            lambda: bulk_operations.mutation_lines(info.schema, document, root, lines, failing),
            lambda done: _notify(state, done),
        )
        return {"bulkOperation": op.node(), "userErrors": []}

    return run


def _inner_mutation(
    info: GraphQLResolveInfo, text: str
) -> tuple[DocumentNode | None, dict[str, Any] | None]:
    """The parsed inner mutation, or why it is refused (it is checked against the schema)."""
    document, problems = checked_document(info.schema, text)
    if document is not None:
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        fields = [
            s for op in operations for s in op.selection_set.selections if isinstance(s, FieldNode)
        ]
        if (
            len(operations) != 1
            or operations[0].operation.value != "mutation"
            or len(fields) != 1
            or fields[0].name.value not in BULK_MUTATIONS
        ):
            problems = [f"the simulator runs one of {', '.join(BULK_MUTATIONS)} in bulk"]
    if problems:
        message = "Invalid mutation: " + "; ".join(problems)
        return None, _error(message, "INVALID_MUTATION", "mutation")
    return document, None


def _staged_lines(
    state: SimulatorState, shop: str, path: str
) -> tuple[list[dict[str, Any]] | None, dict[str, Any] | None]:
    data = state.upload(path)
    if data is None or not path.startswith(f"tmp/{state.shop(shop).shop_id}/"):
        message = f"The JSONL file could not be found: {path}"
        return None, _error(message, "NO_SUCH_FILE", "stagedUploadPath")
    lines = bulk_operations.parse_jsonl(data)
    if lines is None:
        message = "Unexpected file structure - expected JSONL"
        return None, _error(message, "INVALID_STAGED_UPLOAD_FILE", "stagedUploadPath")
    return lines, None


def _in_progress(state: SimulatorState, shop: str, kind: str) -> dict[str, Any]:
    running = [op.gid for op in state.running_bulk_operations(shop, kind.upper())]
    message = f"A bulk {kind} operation for this app and shop is already in progress: " + ", ".join(
        running
    )
    return _error(message, "OPERATION_IN_PROGRESS")


@resolver("bulkOperationRunQuery")
def _bulk_operation_run_query(
    state: SimulatorState, shop: str, token: IssuedToken
) -> Callable[..., Any]:
    def run(info: GraphQLResolveInfo, query: str, **_options: Any) -> dict[str, Any]:
        if state.switches.bulk_access_denied:  # the app lost bulk access (Partner Dashboard)
            raise GraphQLError(
                "Access denied for bulkOperationRunQuery field.",
                extensions={"code": "ACCESS_DENIED"},
            )
        document, message = _bulk_query(info, query)
        if document is None:
            return {"bulkOperation": None, "userErrors": [_error(message, "INVALID", "query")]}
        op = state.new_bulk_operation(shop, "QUERY", query)
        if op is None:
            return {"bulkOperation": None, "userErrors": [_in_progress(state, shop, "query")]}
        root = root_value(state, shop, token)
        _start_operation(
            state,
            op,
            lambda: bulk_operations.query_lines(
                info.schema, document, root, shuffle=state.switches.bulk_shuffle
            ),
            lambda done: _notify(state, done),
        )
        return {"bulkOperation": op.node(), "userErrors": []}

    return run


def _bulk_query(info: GraphQLResolveInfo, text: str) -> tuple[DocumentNode | None, str]:
    """The parsed bulk query, or why it is refused (as Shopify: a connection is required)."""
    document, problems = checked_document(info.schema, text)
    if document is None:
        return None, "Invalid bulk query: " + "; ".join(problems)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    roots = [
        s.name.value
        for op in operations
        for s in op.selection_set.selections
        if isinstance(s, FieldNode)
    ]
    query_type = info.schema.query_type
    assert query_type is not None
    if any(name in ("node", "nodes") for name in roots):
        return None, "Bulk queries cannot contain a top level `node` or `nodes` field"
    connections = [n for n in roots if str(query_type.fields[n].type).endswith("Connection!")]
    if len(operations) != 1 or operations[0].operation.value != "query" or not connections:
        return None, "Bulk queries must contain at least one connection"
    return document, ""


@resolver("bulkOperation")
def _bulk_operation(state: SimulatorState, shop: str, _token: IssuedToken) -> Callable[..., Any]:
    def find(_info: Any, id: str) -> dict[str, Any] | None:
        if not id.startswith("gid://shopify/BulkOperation/"):
            return None
        return lookup(state, shop, id)

    return find


def _notify(state: SimulatorState, op: SimBulkOperation) -> None:
    """The `bulk_operations/finish` webhook, to the shop's subscribed addresses."""
    payload = {
        "admin_graphql_api_id": op.gid,
        "completed_at": op.completed_at,
        "created_at": op.created_at,
        "error_code": op.error_code.lower() if op.error_code else None,
        "status": op.status.lower(),
        "type": op.type.lower(),
    }
    deliver(state, op.shop, "bulk_operations/finish", payload)


def _start_operation(
    state: SimulatorState,
    op: SimBulkOperation,
    work: Callable[[], tuple[bulk_operations.Lines, int]],
    on_finish: Callable[[SimBulkOperation], None],
) -> None:
    """Run `work` (result lines, root object count) after `bulk_delay` in a daemon thread."""

    def run() -> None:
        time.sleep(state.switches.bulk_delay)
        with state.lock:
            op.status = "RUNNING"
        try:
            lines, roots = work()
        except bulk_operations.BulkAccessDenied:
            _finish_operation(state, op, "FAILED", [], 0, error_code="ACCESS_DENIED")
        except Exception:  # a simulated operation fails like a real one: status, no raise
            _finish_operation(state, op, "FAILED", [], 0, error_code="INTERNAL_SERVER_ERROR")
        else:
            _finish_operation(state, op, "COMPLETED", lines, roots)
        on_finish(op)

    threading.Thread(target=run, name=f"bulk-{op.op_id}", daemon=True).start()


def _finish_operation(
    state: SimulatorState,
    op: SimBulkOperation,
    status: str,
    lines: bulk_operations.Lines,
    roots: int,
    error_code: str | None = None,
) -> None:
    body = "".join(json.dumps(line) + "\n" for line in lines).encode()
    with state.lock:
        op.result = body
        op.object_count = len(lines)
        op.root_object_count = roots
        op.url = f"{state.root_url}/bulk-results/{op.op_id}.jsonl" if lines else None
        op.error_code = error_code
        op.completed_at = bulk_operations.now_iso()
        op.status = status
