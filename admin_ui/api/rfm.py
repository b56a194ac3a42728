"""The RFM grid and the moves between RFM groups over JSON."""

from __future__ import annotations

from dataclasses import asdict

from flask import jsonify
from werkzeug.wrappers import Response

from admin_ui.api.schemas import RfmSchema
from admin_ui.api.spec import api_route
from admin_ui.embedded import runtime
from admin_ui.viewer import current_viewer
from plugin.db import utcnow
from plugin.segments.rfm_grid import MOVEMENT_WINDOW, group_slugs, rfm_grid, rfm_movement


@api_route(
    "/api/rfm",
    "GET",
    summary="Customers and revenue per RFM cell, and moves between groups (30 days)",
    response=RfmSchema(),
)
def rfm() -> Response:
    shop_id = current_viewer().shop_id
    with runtime().sessions() as db:
        grid = rfm_grid(db, shop_id)
        moves = rfm_movement(db, shop_id, utcnow() - MOVEMENT_WINDOW)
        slugs = group_slugs(db, shop_id)
    document = {
        "cells": [asdict(c) | {"segment": slugs.get(c.group)} for c in grid.cells],
        "prospects": grid.prospects,
        "unranked": grid.unranked,
        "movement_days": MOVEMENT_WINDOW.days,
        "movement": [asdict(m) for m in moves],
        "movement_source": "rfm_segment_stays",
    }
    return jsonify(RfmSchema().dump(document))
