"""Home: the first-run checklist, shop totals and every segment with its KPIs and flags."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from admin_ui.checklist import checklist
from admin_ui.embedded import runtime
from admin_ui.pages import blueprint
from admin_ui.rendering import render_page
from admin_ui.viewer import current_viewer, page_view
from plugin.profiles.queries import shop_totals
from plugin.segments.health import Flag, health_flags, latest_daily
from plugin.segments.models import SegmentDaily
from plugin.segments.services import SegmentSummary, segment_summaries


@dataclass
class SegmentRow:
    summary: SegmentSummary
    kpi: SegmentDaily | None
    flags: list[tuple[str, str]] = field(default_factory=list)  # (kind, other segment's name)


def _flags_by_slug(flags: list[Flag], names: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """small:<s> → (small, ""); merge:<a>:<b> and contained:<a>:<b> on both segments."""
    out: dict[str, list[tuple[str, str]]] = {}
    for flag in flags:
        kind, *slugs = flag.key.split(":")
        if kind == "small" and slugs:
            out.setdefault(slugs[0], []).append(("small", ""))
        elif len(slugs) == 2:
            a, b = slugs
            out.setdefault(a, []).append((kind, names.get(b, b)))
            out.setdefault(b, []).append((kind if kind == "merge" else "contains", names.get(a, a)))
    return out


def dashboard(db: Session, shop_id: int) -> dict[str, Any]:
    summaries = segment_summaries(db, shop_id)
    kpis = {segment.slug: daily for segment, daily in latest_daily(db, shop_id)}
    names = {s.slug: s.name for s in summaries}
    flags = _flags_by_slug(health_flags(db, shop_id), names)
    rows = [SegmentRow(s, kpis.get(s.slug), flags.get(s.slug, [])) for s in summaries]
    return {
        "rows": rows,
        "totals": shop_totals(db, shop_id),
        "checklist": checklist(db, shop_id, summaries),
    }


@blueprint.get("/admin")
@page_view
def home() -> Response:
    with runtime().sessions() as db:
        context = dashboard(db, current_viewer().shop_id)
    return render_page("admin_ui/home.html", **context)
