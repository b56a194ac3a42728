"""Segments over JSON: the list with health flags, a query's preview, a segment's members."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import jsonify, request
from marshmallow import ValidationError as SchemaError
from werkzeug.wrappers import Response

from admin_ui.api.schemas import (
    CompleteQuerySchema,
    CompletionSchema,
    MemberPageSchema,
    MembersQuerySchema,
    PreviewRequestSchema,
    PreviewSchema,
    PushTagResultSchema,
    PushTagSchema,
    SegmentSchema,
)
from admin_ui.api.spec import api_route
from admin_ui.embedded import runtime
from admin_ui.viewer import current_viewer
from plugin.db import utcnow
from plugin.errors import ValidationError
from plugin.segments import services
from plugin.segments.completion import complete
from plugin.segments.completion_values import shop_values
from plugin.segments.errors import QueryError
from plugin.segments.health import health_flags
from plugin.segments.members import customers_by_ids, member_page
from plugin.segments.preview import preview_query
from plugin.tagsync.choice import set_push_tag

MEMBER_PARAMS = [
    {"name": name, "in": "query", "required": False, "schema": schema}
    for name, schema in (
        ("page", {"type": "integer", "minimum": 1}),
        ("per_page", {"type": "integer", "minimum": 1, "maximum": 200}),
        ("q", {"type": "string"}),
        ("sort", {"type": "string"}),
        ("dir", {"type": "string", "enum": ["asc", "desc"]}),
    )
]


def page_document(items: list[Any], page: Any) -> dict[str, Any]:
    """A page of a list as every paged API answers it (`page` has total, page, per_page and
    pages, as the paged queries return them)."""
    return {
        "items": items,
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
        "pages": page.pages,
    }


def load(schema: Any, data: Any) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(data)
    except SchemaError as exc:
        raise ValidationError(str(exc.messages)) from exc
    return loaded


@api_route(
    "/api/segments",
    "GET",
    summary="Every segment with size and health flags",
    response=SegmentSchema(many=True),
)
def list_segments() -> Response:
    shop_id = current_viewer().shop_id
    with runtime().sessions() as db:
        rows, flags = services.segment_summaries(db, shop_id), health_flags(db, shop_id)
    document = [
        asdict(r) | {"flags": [f.key for f in flags if r.slug in f.key.split(":")[1:]]}
        for r in rows
    ]
    return jsonify(SegmentSchema(many=True).dump(document))


@api_route(
    "/api/segments/preview",
    "POST",
    summary="Count and sample (20) the customers an unsaved query selects",
    response=PreviewSchema(),
    body=PreviewRequestSchema(),
)
def preview_segment() -> Response:
    query = load(PreviewRequestSchema(), request.get_json(silent=True) or {})["query"]
    shop_id = current_viewer().shop_id
    try:
        with runtime().sessions.begin() as db:
            result = preview_query(db, shop_id, query, utcnow())
            sample = customers_by_ids(db, shop_id, result.sample)
    except QueryError as exc:
        body = {"error": exc.code, "detail": exc.message, "line": exc.line, "column": exc.column}
        return _json(body, 400)
    document = asdict(result) | {"sample": [asdict(c) for c in sample]}
    return jsonify(PreviewSchema().dump(document))


@api_route(
    "/api/segments/complete",
    "GET",
    summary="Autocomplete at the cursor: fields, operators and the shop's values",
    response=CompletionSchema(),
    query=[
        {"name": "query", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "integer"}},
    ],
)
def complete_query() -> Response:
    args = load(CompleteQuerySchema(), request.args)
    with runtime().sessions() as db:
        values = shop_values(db, current_viewer().shop_id)
        completion = complete(args["query"], args["cursor"], values)
    return jsonify(CompletionSchema().dump(asdict(completion)))


@api_route(
    "/api/segments/<slug>/members",
    "GET",
    summary="A page of a segment's current members (searched and sorted in the database)",
    response=MemberPageSchema(),
    query=MEMBER_PARAMS,
)
def segment_members(slug: str) -> Response:
    args = load(MembersQuerySchema(), request.args)
    shop_id = current_viewer().shop_id
    with runtime().sessions() as db:
        segment = services.find_segment(db, shop_id, slug)
        page = member_page(
            db,
            shop_id,
            segment.id,
            search=args["q"],
            sort=args["sort"],
            descending=args["dir"] == "desc",
            page=args["page"],
            per_page=args["per_page"],
        )
    document = page_document([asdict(r) for r in page.rows], page)
    return jsonify(MemberPageSchema().dump(document))


@api_route(
    "/api/segments/<slug>/push_tag",
    "PUT",
    summary="Turn a segment's tag at the shop on or off (queued through the outbox)",
    response=PushTagResultSchema(),
    body=PushTagSchema(),
)
def push_segment_tag(slug: str) -> Response:
    push = load(PushTagSchema(), request.get_json(silent=True) or {})["push_tag"]
    with runtime().sessions.begin() as db:
        segment, queued = set_push_tag(db, current_viewer().shop_id, slug, push, utcnow())
        document = {"slug": segment.slug, "push_tag": segment.push_tag, "queued": queued}
    return jsonify(PushTagResultSchema().dump(document))


def _json(body: dict[str, Any], status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response
