"""Triggers over JSON: settings, counts, their place in Shopify Flow, and edits through the
CLI's validation."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import jsonify, request
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from admin_ui.api.schemas import TriggerChangeSchema, TriggerSchema
from admin_ui.api.segments import load
from admin_ui.api.spec import api_route
from admin_ui.embedded import runtime
from admin_ui.pages.triggers import FlowView, flow_views
from admin_ui.viewer import current_viewer
from plugin.errors import NotFoundError
from plugin.triggers import settings as trigger_settings
from plugin.triggers.catalogue import GENERAL
from plugin.triggers.stats import TriggerCounts, trigger_counts


def _counts(counts: TriggerCounts | None) -> dict[str, Any] | None:
    if counts is None:
        return None
    document = asdict(counts)
    document["reasons"] = [{"reason": r, "count": n} for r, n in counts.reasons]
    return document


def _flow(view: FlowView | None) -> dict[str, Any] | None:
    if view is None:
        return None
    templates = [
        {"key": t.key, "handle": t.handle, "name": t.name, "description": t.description}
        | {"url": url}
        for t, url in view.templates
    ]
    return {"workflow": view.workflow, "templates": templates}


def _trigger(
    db: Session, shop_id: int, name: str, counts: TriggerCounts | None, flow: FlowView | None
) -> dict[str, Any]:
    values = trigger_settings.load(db, shop_id, name)
    document = {
        "name": name,
        "enabled": values.pop("enabled", None),
        "settings": values,
        "counts": _counts(counts),
        "flow": _flow(flow),
    }
    if name == GENERAL:
        document["webhook_secret"] = "set" if trigger_settings.has_secret(db, shop_id) else None
    return document


@api_route(
    "/api/triggers",
    "GET",
    summary="Every trigger's settings, what it did (fired, skipped and why, converted), and "
    "its Flow templates",
    response=TriggerSchema(many=True),
)
def list_triggers() -> Response:
    viewer = current_viewer()
    shop_id = viewer.shop_id
    with runtime().sessions() as db:
        counts = trigger_counts(db, shop_id)
        flows = flow_views(db, shop_id, viewer.domain)
        document = [
            _trigger(db, shop_id, name, counts.get(name), flows.get(name))
            for name in trigger_settings.NAMES
        ]
    return jsonify(TriggerSchema(many=True).dump(document))


@api_route(
    "/api/triggers/<name>",
    "PATCH",
    summary="Change a trigger's settings (the keys and values of `shopseg triggers set`)",
    response=TriggerSchema(),
    body=TriggerChangeSchema(),
)
def patch_trigger(name: str) -> Response:
    if name not in trigger_settings.NAMES:
        raise NotFoundError(f"no trigger {name!r}")
    pairs = load(TriggerChangeSchema(), request.get_json(silent=True) or {})["settings"]
    rt, viewer = runtime(), current_viewer()
    shop_id = viewer.shop_id
    with rt.sessions.begin() as db:
        edit = trigger_settings.apply_edit(db, shop_id, name, pairs, rt.settings.secret_key)
    with rt.sessions() as db:
        counts = trigger_counts(db, shop_id).get(name)
        document = _trigger(
            db, shop_id, name, counts, flow_views(db, shop_id, viewer.domain).get(name)
        )
    if edit.new_secret:
        document["new_secret"] = edit.new_secret
    return jsonify(TriggerSchema().dump(document))
