"""Settings page: language, minimum segment size and sweep interval (validated like PATCH
/api/settings, errors at their fields), the shop facts the app follows, data-request
exports to download, and the sync status."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import make_response, request
from marshmallow import ValidationError as SchemaError
from werkzeug.wrappers import Response

from admin_ui.api.schemas import SettingsChangeSchema
from admin_ui.api.shop import settings_document, store_settings
from admin_ui.embedded import runtime
from admin_ui.pages import blueprint
from admin_ui.rendering import admin_url, navigate_to, render_page
from admin_ui.viewer import current_viewer, page_view
from plugin.db import utcnow
from plugin.errors import NotFoundError
from plugin.predictions.models import PredictionFit
from plugin.predictions.report import holdout_gap
from plugin.privacy.exports import get_export, recent_exports
from plugin.reports.sync import sync_status
from plugin.shops.models import Shop

FIELDS = ("language", "segment_min_size", "sweep_minutes")
EXPORTS_SHOWN = 50


def _shop(db: Any) -> Shop:
    shop = db.get(Shop, current_viewer().shop_id)
    if shop is None:  # the viewer was just loaded; only a concurrent uninstall gets here
        raise NotFoundError("the shop is not installed")
    return shop


def _page(status: int = 200, **extra: Any) -> Response:
    with runtime().sessions() as db:
        shop = _shop(db)
        context = {
            "settings": settings_document(db, shop),
            "sync": sync_status(db, shop),
            "exports": recent_exports(db, shop.id, EXPORTS_SHOWN),
            "fit": db.get(PredictionFit, shop.id),
        }
    context["holdout_gap"] = holdout_gap(context["fit"]) if context["fit"] else None
    context["lag"] = context["sync"].inbox.oldest_pending_age(utcnow())
    return render_page(
        "admin_ui/settings.html",
        status=status,
        **({"errors": {}, "submitted": {}} | extra),
        **context,
    )


@blueprint.get("/admin/settings")
@page_view
def settings() -> Response:
    return _page(saved=request.args.get("saved") == "1")


@blueprint.post("/admin/settings")
@page_view
def save_settings() -> Response:
    submitted = {k: request.form[k].strip() for k in FIELDS if k in request.form}
    data = {k: (v or None) if k == "language" else v for k, v in submitted.items()}
    try:
        changes = SettingsChangeSchema().load(data)
    except SchemaError as exc:
        errors = {k: " ".join(map(str, v)) for k, v in exc.normalized_messages().items()}
        return _page(422, errors=errors, submitted=submitted)
    store_settings(current_viewer().shop_id, changes)
    return navigate_to(admin_url("admin_ui.pages.settings", saved=1))


@blueprint.get("/admin/settings/exports/<int:export_id>.json")
@page_view
def download_export(export_id: int) -> Response:
    """One data-request export as a JSON file (what `shopseg privacy exports --id` prints)."""
    with runtime().sessions() as db:
        export = get_export(db, current_viewer().shop_id, export_id)
        if export is None:
            raise NotFoundError(f"no export {export_id}")
        body = json.dumps(export.data, indent=2, sort_keys=True, ensure_ascii=False)
        customer = re.sub(r"[^\w-]", "", export.customer_platform_id)
        name = f"customer-{customer}-export-{export.id}.json"
    response = make_response(body)
    response.mimetype = "application/json"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
