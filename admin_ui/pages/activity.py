"""Activity page: what the app pushed to the shop (tags, triggers) with its result, paged;
trigger decisions that sent nothing and why; failed pushes and dead webhook deliveries,
each with a retry (the services `shopseg outbox retry` and `inbox retry-dead` use)."""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.wrappers import Response

from admin_ui.embedded import runtime
from admin_ui.pages import blueprint
from admin_ui.pages.customer import page_arg
from admin_ui.rendering import admin_url, navigate_to, render_page
from admin_ui.viewer import current_viewer, page_view
from plugin.db import utcnow
from plugin.errors import ValidationError
from plugin.inbox import services as inbox
from plugin.outbox import services as outbox
from plugin.outbox.activity import activity_page, what
from plugin.outbox.models import DEAD
from plugin.platforms.shopify.install import PLATFORM
from plugin.profiles.queries import platform_ids
from plugin.triggers.firings import not_fired

DECISIONS_SHOWN = 20
DEAD_DELIVERIES_SHOWN = 50


def activity_context(failed: bool, page: int, per_page: int = 50) -> dict[str, Any]:
    """What the Activity page and its API show: one page of pushes, the latest decisions
    that sent nothing, the latest dead deliveries, and the customers' shop ids."""
    viewer = current_viewer()
    states = [DEAD] if failed else None
    with runtime().sessions() as db:
        pushed = activity_page(db, viewer.shop_id, states=states, page=page, per_page=per_page)
        decisions = not_fired(db, viewer.shop_id, DECISIONS_SHOWN)
        dead, dead_total = inbox.dead_deliveries(db, PLATFORM, viewer.domain, DEAD_DELIVERIES_SHOWN)
        customers = platform_ids(
            db,
            viewer.shop_id,
            [r.customer_id for r in pushed.rows] + [d.customer_id for d in decisions],
        )
    return {
        "pushed": pushed,
        "described": {
            row.id: what(row, customers.get(row.customer_id or 0)) for row in pushed.rows
        },
        "decisions": decisions,
        "dead": dead,
        "dead_total": dead_total,
        "customers": customers,
        "failed": failed,
    }


@blueprint.get("/admin/activity")
@page_view
def activity() -> Response:
    failed = request.args.get("failed") == "1"
    return render_page("admin_ui/activity.html", **activity_context(failed, page_arg()))


def _ids() -> list[int] | None:
    """The row given (`id`), or None for every dead row; anything else is refused."""
    raw = request.form.get("id", "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationError(f"id must be a row number, not {raw!r}")
    return [int(raw)]


@blueprint.post("/admin/activity/outbox/retry")
@page_view
def retry_pushes() -> Response:
    with runtime().sessions.begin() as db:
        outbox.retry_dead(db, current_viewer().shop_id, utcnow(), _ids())
    return navigate_to(admin_url("admin_ui.pages.activity"))


@blueprint.post("/admin/activity/inbox/retry")
@page_view
def retry_deliveries() -> Response:
    with runtime().sessions.begin() as db:
        inbox.retry_dead(db, PLATFORM, current_viewer().domain, _ids())
    return navigate_to(admin_url("admin_ui.pages.activity"))
