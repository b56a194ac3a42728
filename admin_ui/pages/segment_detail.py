"""Segment detail: its KPIs and rule, and its members paged, searched and sorted in the
database, with a CSV export streamed row by row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from flask import Response as FlaskResponse
from flask import request, stream_with_context
from werkzeug.wrappers import Response

from admin_ui.embedded import runtime
from admin_ui.pages import blueprint
from admin_ui.rendering import render_fragment, render_page
from admin_ui.viewer import current_viewer, page_view
from plugin.profiles.money import currency_exponent, minor_text
from plugin.segments import services
from plugin.segments.health import latest_daily
from plugin.segments.members import SORTS, member_chunks, member_page

CSV_HEADER = ["customer_id", "first_name", "last_name", "email", "orders", "total_spent", "since"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() else default


def _member_query() -> dict[str, Any]:
    sort = request.args.get("sort", "entered")
    return {
        "search": request.args.get("q", "")[:200],
        "sort": sort if sort in SORTS else "entered",
        "descending": request.args.get("dir", "desc") != "asc",
        "page": _int_arg("page", 1),
    }


def _members_context(slug: str) -> dict[str, Any]:
    shop_id, query = current_viewer().shop_id, _member_query()
    with runtime().sessions() as db:
        segment = services.find_segment(db, shop_id, slug)
        page = member_page(db, shop_id, segment.id, **query)
    return {"segment": segment, "members": page, "query": query}


@blueprint.get("/admin/segments/<slug>")
@page_view
def segment_detail(slug: str) -> Response:
    context = _members_context(slug)
    shop_id = current_viewer().shop_id
    with runtime().sessions() as db:
        summary = next(s for s in services.segment_summaries(db, shop_id) if s.slug == slug)
        kpi = next((d for seg, d in latest_daily(db, shop_id) if seg.slug == slug), None)
    return render_page("admin_ui/segments/detail.html", summary=summary, kpi=kpi, **context)


@blueprint.get("/admin/segments/<slug>/members")
@page_view
def segment_members(slug: str) -> Response:
    return render_fragment("admin_ui/segments/_members.html", **_members_context(slug))


def _cell(value: Any) -> str:
    """Text a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv_rows(shop_id: int, segment_id: int, currency: str) -> Iterator[str]:
    """The CSV a chunk of members at a time (one `writerows` each: the per-row work is the
    export's cost at tens of thousands of members)."""
    exponent = currency_exponent(currency)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    with runtime().sessions() as db:
        for chunk in member_chunks(db, shop_id, segment_id):
            writer.writerows(
                (
                    _cell(customer_id),
                    _cell(first_name),
                    _cell(last_name),
                    _cell(email),
                    orders,
                    minor_text(spent, exponent),
                    since.isoformat() if since else "",
                )
                for customer_id, first_name, last_name, email, orders, spent, since in chunk
            )
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


@blueprint.get("/admin/segments/<slug>/members.csv")
@page_view
def export_members(slug: str) -> Response:
    viewer = current_viewer()
    with runtime().sessions() as db:
        segment = services.find_segment(db, viewer.shop_id, slug)
    rows = stream_with_context(_csv_rows(viewer.shop_id, segment.id, viewer.currency))
    response = FlaskResponse(rows, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{segment.slug}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
