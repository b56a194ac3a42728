"""RFM page: the grid (R by FM) with customers and revenue per cell, each cell leading to
its group's members, and the moves between groups over the last 30 days."""

from __future__ import annotations

from werkzeug.wrappers import Response

from admin_ui.embedded import runtime
from admin_ui.pages import blueprint
from admin_ui.rendering import render_page
from admin_ui.viewer import current_viewer, page_view
from plugin.db import utcnow
from plugin.segments.rfm_grid import MOVEMENT_WINDOW, group_slugs, rfm_grid, rfm_movement


@blueprint.get("/admin/rfm")
@page_view
def rfm() -> Response:
    shop_id = current_viewer().shop_id
    with runtime().sessions() as db:
        grid = rfm_grid(db, shop_id)
        moves = rfm_movement(db, shop_id, utcnow() - MOVEMENT_WINDOW)
        slugs = group_slugs(db, shop_id)
    return render_page(
        "admin_ui/rfm.html", grid=grid, moves=moves, slugs=slugs, days=MOVEMENT_WINDOW.days
    )
