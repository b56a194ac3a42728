"""Triggers over JSON: settings and counts, and edits through the CLI's validation."""

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


def _trigger(db: Session, shop_id: int, name: str, counts: TriggerCounts | None) -> dict[str, Any]:
    values = trigger_settings.load(db, shop_id, name)
    document = {
        "name": name,
        "enabled": values.pop("enabled", None),
        "settings": values,
        "counts": _counts(counts),
    }
    if name == GENERAL:
        document["webhook_secret"] = "set" if trigger_settings.has_secret(db, shop_id) else None
    return document


@api_route(
    "/api/triggers",
    "GET",
    summary="Every trigger's settings and what it did (fired, skipped and why, converted)",
    response=TriggerSchema(many=True),
)
def list_triggers() -> Response:
    shop_id = current_viewer().shop_id
    with runtime().sessions() as db:
        counts = trigger_counts(db, shop_id)
        document = [
            _trigger(db, shop_id, name, counts.get(name)) for name in trigger_settings.NAMES
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
    rt, shop_id = runtime(), current_viewer().shop_id
    with rt.sessions.begin() as db:
        edit = trigger_settings.apply_edit(db, shop_id, name, pairs, rt.settings.secret_key)
    with rt.sessions() as db:
        document = _trigger(db, shop_id, name, trigger_counts(db, shop_id).get(name))
    if edit.new_secret:
        document["new_secret"] = edit.new_secret
    return jsonify(TriggerSchema().dump(document))
