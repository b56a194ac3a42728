"""Segment editor: the query validated as it is typed (error underlined at its position),
a live count with a sample of 20, templates from the built-ins, "push as a tag"; save,
switch on/off, delete."""

from __future__ import annotations

import re
from typing import Any

from flask import request
from werkzeug.wrappers import Response

from admin_ui.embedded import runtime
from admin_ui.pages import blueprint
from admin_ui.rendering import admin_url, navigate_to, render_fragment, render_page
from admin_ui.viewer import current_viewer, page_view
from plugin.db import utcnow
from plugin.errors import ValidationError
from plugin.segments import services
from plugin.segments.builtins import BUILTINS
from plugin.segments.errors import QueryError
from plugin.segments.members import customers_by_ids
from plugin.segments.models import BUILTIN
from plugin.segments.preview import preview_query
from plugin.segments.removal import delete_segment
from plugin.tagsync.choice import set_push_tag

TEMPLATES = {b.key: b for b in BUILTINS}
SUGGESTION = re.compile(r"; did you mean '([^']+)'\?$")
WORD = re.compile(r"\w+|\S")
MAX_QUERY = 10_000


def error_marks(query: str, exc: QueryError) -> dict[str, Any]:
    """The query split around the offending word, and the message without its suggestion."""
    lines = query.split("\n")
    line = min(max(exc.line, 1), len(lines))
    offset = sum(len(text) + 1 for text in lines[: line - 1]) + max(exc.column, 1) - 1
    offset = min(offset, len(query))
    word = WORD.match(query, offset)
    end = word.end() if word and word.start() == offset else offset
    hint = SUGGESTION.search(exc.message)
    return {
        "before": query[:offset],
        "marked": query[offset:end],
        "after": query[end:],
        "message": SUGGESTION.sub("", exc.message),
        "suggestion": hint.group(1) if hint else None,
        "line": exc.line,
        "column": exc.column,
    }


def _preview_context(query: str) -> dict[str, Any]:
    if not query.strip():
        return {"empty": True}
    if len(query) > MAX_QUERY:
        raise ValidationError(f"a query has at most {MAX_QUERY} characters")
    shop_id = current_viewer().shop_id
    try:
        with runtime().sessions.begin() as db:
            result = preview_query(db, shop_id, query, utcnow())
            sample = customers_by_ids(db, shop_id, result.sample)
    except QueryError as exc:
        return {"error": error_marks(query, exc)}
    return {"result": result, "sample": sample}


@blueprint.post("/admin/segments/_preview")
@page_view
def preview() -> Response:
    """The editor's live part: validation, count and sample of the query being typed."""
    query = request.form.get("query", "")
    return render_fragment("admin_ui/segments/_preview.html", **_preview_context(query))


def _editor(segment: Any = None, *, status: int = 200, **form: Any) -> Response:
    template = TEMPLATES.get(request.args.get("template", ""))
    values = {
        "name": form.get("name", segment.name if segment else (template.name if template else "")),
        "query": form.get(
            "query", segment.query if segment else (template.query if template else "")
        ),
        "tag": form.get("tag", (segment.tag or "") if segment else ""),
        # A merchant's new segment becomes a tag unless they say not (built-ins start off).
        "push_tag": form.get("push_tag", segment.push_tag if segment else True),
    }
    context = _preview_context(values["query"]) if status == 200 else {}
    return render_page(
        "admin_ui/segments/editor.html",
        status=status,
        segment=segment,
        values=values,
        templates=BUILTINS,
        error=form.get("error"),
        **context,
    )


@blueprint.get("/admin/segments/_new")
@page_view
def new_segment() -> Response:
    return _editor()


@blueprint.post("/admin/segments")
@page_view
def create_segment() -> Response:
    form: dict[str, Any] = {k: request.form.get(k, "") for k in ("name", "query", "tag")}
    form["push_tag"] = request.form.get("push_tag") == "1"
    shop_id = current_viewer().shop_id
    try:
        with runtime().sessions.begin() as db:
            segment = services.create_segment(
                db,
                shop_id,
                form["name"],
                form["query"],
                now=utcnow(),
                tag=form["tag"] or None,
                push_tag=form["push_tag"],
            )
            slug = segment.slug
    except ValidationError as exc:
        return _editor(status=422, error=exc.detail, **form)
    return navigate_to(admin_url("admin_ui.pages.segment_detail", slug=slug))


def _segment(slug: str) -> Any:
    with runtime().sessions() as db:
        return services.find_segment(db, current_viewer().shop_id, slug)


@blueprint.get("/admin/segments/<slug>/edit")
@page_view
def edit_segment(slug: str) -> Response:
    return _editor(_segment(slug))


@blueprint.post("/admin/segments/<slug>")
@page_view
def save_segment(slug: str) -> Response:
    segment = _segment(slug)
    query, push = request.form.get("query", ""), request.form.get("push_tag") == "1"
    try:
        with runtime().sessions.begin() as db:
            services.edit_segment(db, segment.shop_id, slug, query, now=utcnow())
            # Adds or removes the tag at the shop through the outbox (tagsync.choice).
            set_push_tag(db, segment.shop_id, slug, push, utcnow())
    except ValidationError as exc:
        return _editor(segment, status=422, error=exc.detail, query=query, push_tag=push)
    return navigate_to(admin_url("admin_ui.pages.segment_detail", slug=slug))


@blueprint.post("/admin/segments/<slug>/enabled")
@page_view
def switch_segment(slug: str) -> Response:
    """Switch a segment on (`enabled=1`) or off; off closes its memberships now."""
    shop_id, on = current_viewer().shop_id, request.form.get("enabled") == "1"
    with runtime().sessions.begin() as db:
        change = services.enable_segment if on else services.disable_segment
        change(db, shop_id, slug, now=utcnow())
    return navigate_to(admin_url("admin_ui.pages.segment_detail", slug=slug))


@blueprint.get("/admin/segments/<slug>/delete")
@page_view
def confirm_delete(slug: str) -> Response:
    segment = _segment(slug)
    if segment.kind == BUILTIN:
        raise ValidationError(f"{segment.name!r} is built in: disable it instead")
    return render_page("admin_ui/segments/delete.html", segment=segment)


@blueprint.post("/admin/segments/<slug>/delete")
@page_view
def delete(slug: str) -> Response:
    with runtime().sessions.begin() as db:
        delete_segment(db, current_viewer().shop_id, slug, now=utcnow())
    return navigate_to(admin_url("admin_ui.pages.home"))
