"""Registering an API route also documents it: `api_route` adds the Flask rule (behind
`api_view`) and its OpenAPI operation, and `/api/openapi.json` is built from those."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, jsonify
from marshmallow import Schema
from werkzeug.wrappers import Response

from admin_ui.api.schemas import ErrorSchema
from admin_ui.viewer import api_view

blueprint = Blueprint("api", __name__)
FLASK_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
ERRORS = {
    "400": "Bad input",
    "401": "Not authenticated",
    "403": "CSRF or origin check failed",
    "404": "Not found",
}


@dataclass(frozen=True)
class Operation:
    rule: str
    method: str
    summary: str
    response: Schema
    body: Schema | None = None
    query: list[dict[str, Any]] = field(default_factory=list)


OPERATIONS: list[Operation] = []


def openapi_path(rule: str) -> str:
    """`/api/segments/<slug>/members` → `/api/segments/{slug}/members`."""
    return FLASK_PARAM.sub(r"{\1}", rule)


def api_route(
    rule: str,
    method: str,
    *,
    summary: str,
    response: Schema,
    body: Schema | None = None,
    query: list[dict[str, Any]] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        OPERATIONS.append(Operation(rule, method.lower(), summary, response, body, query or []))
        blueprint.add_url_rule(rule, view.__name__, api_view(view), methods=[method.upper()])
        return view

    return decorate


def _operation(op: Operation) -> dict[str, Any]:
    path_params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in FLASK_PARAM.findall(op.rule)
    ]
    responses: dict[str, Any] = {
        "200": {"description": "OK", "content": {"application/json": {"schema": op.response}}}
    }
    for status, text in ERRORS.items():
        responses[status] = {
            "description": text,
            "content": {"application/json": {"schema": ErrorSchema}},
        }
    document: dict[str, Any] = {
        "summary": op.summary,
        "operationId": f"{op.method}_{openapi_path(op.rule).strip('/').replace('/', '_')}",
        "parameters": path_params + op.query,
        "responses": responses,
        "security": [{"sessionToken": []}, {"cookieSession": []}],
    }
    if op.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": op.body}},
        }
    return document


def openapi_document() -> dict[str, Any]:
    spec = APISpec(
        title="Shop Segments admin API",
        version="1",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
    )
    spec.components.security_scheme(
        "sessionToken", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    spec.components.security_scheme(
        "cookieSession", {"type": "apiKey", "in": "cookie", "name": "session"}
    )
    paths: dict[str, dict[str, Any]] = {}
    for op in [*OPERATIONS, SPEC_OPERATION]:
        paths.setdefault(openapi_path(op.rule), {})[op.method] = _operation(op)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


class _AnyObject(Schema):
    pass


SPEC_OPERATION = Operation("/api/openapi.json", "get", "This document (OpenAPI 3)", _AnyObject())


@blueprint.get("/api/openapi.json")
@api_view
def openapi_json() -> Response:
    return jsonify(openapi_document())
