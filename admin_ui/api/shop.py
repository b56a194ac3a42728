"""The shop, its admin settings and its sync status over JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import jsonify, request
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from admin_ui.api.schemas import (
    SettingsChangeSchema,
    SettingsSchema,
    ShopSchema,
    SyncStatusSchema,
)
from admin_ui.api.segments import load
from admin_ui.api.spec import api_route
from admin_ui.embedded import runtime
from admin_ui.i18n import LANGUAGE_SETTING
from admin_ui.viewer import current_viewer
from plugin.backfill import runs
from plugin.db import utcnow
from plugin.profiles.shop_settings import set_setting, setting_value
from plugin.reports.sync import sync_status
from plugin.segments.evaluator_sweep import SWEEP_MINUTES, sweep_minutes
from plugin.segments.health import MIN_SIZE, min_size
from plugin.shops.models import Shop, ShopSetting
from plugin.tagsync.tags import DEFAULTS as TAG_DEFAULTS
from plugin.tagsync.tags import TAG_PREFIX


def shop_json(shop: Shop) -> dict[str, Any]:
    return {
        "id": str(shop.id),
        "domain": shop.domain,
        "install_state": shop.install_state,
        "auth_method": shop.auth_method,
        "timezone": shop.timezone,
        "currency": shop.currency,
        "scopes": [s for s in (shop.scopes or "").split(",") if s],
    }


def _shop() -> Shop:
    with runtime().sessions() as db:
        shop = db.get(Shop, current_viewer().shop_id)
    if shop is None:  # the viewer was just loaded; only a concurrent uninstall gets here
        raise LookupError("the viewer's shop vanished")
    return shop


@api_route("/api/shop", "GET", summary="The shop this session acts for", response=ShopSchema())
def shop_status() -> Response:
    return jsonify(ShopSchema().dump(shop_json(_shop())))


def _stored(db: Session, shop_id: int, key: str, default: Any) -> Any:
    row = db.get(ShopSetting, (shop_id, key))
    return setting_value(key, row.value) if row is not None else default


SETTING_KEYS = {
    "language": LANGUAGE_SETTING,
    "segment_min_size": MIN_SIZE,
    "sweep_minutes": SWEEP_MINUTES,
}


def settings_document(db: Session, shop: Shop) -> dict[str, Any]:
    """The shop's admin settings as the Settings page and the API show them."""
    return {
        "language": _stored(db, shop.id, LANGUAGE_SETTING, None),
        "segment_min_size": min_size(db, shop.id),
        "sweep_minutes": int(sweep_minutes(db, shop.id)),
        "tag_prefix": _stored(db, shop.id, TAG_PREFIX, TAG_DEFAULTS[TAG_PREFIX]),
        "timezone": shop.timezone,
        "currency": shop.currency,
    }


@api_route("/api/settings", "GET", summary="The shop's admin settings", response=SettingsSchema())
def get_settings() -> Response:
    shop = _shop()
    with runtime().sessions() as db:
        return jsonify(SettingsSchema().dump(settings_document(db, shop)))


def store_settings(shop_id: int, changes: dict[str, Any]) -> None:
    """Save validated changes (`SettingsChangeSchema`), in one transaction."""
    with runtime().sessions.begin() as db:
        for field, value in changes.items():
            set_setting(db, shop_id, SETTING_KEYS[field], value)


@api_route(
    "/api/settings",
    "PATCH",
    summary="Change the admin language, the minimum segment size or the sweep interval",
    response=SettingsSchema(),
    body=SettingsChangeSchema(),
)
def patch_settings() -> Response:
    changes = load(SettingsChangeSchema(), request.get_json(silent=True) or {})
    shop = _shop()
    store_settings(shop.id, changes)
    with runtime().sessions() as db:
        return jsonify(SettingsSchema().dump(settings_document(db, shop)))


def _run(report: runs.RunProgress | None) -> dict[str, Any] | None:
    if report is None:
        return None
    document = asdict(report)
    document.pop("phases")
    return document | {"lines_done": report.lines_done, "lines_expected": report.lines_expected}


@api_route(
    "/api/sync-status",
    "GET",
    summary="Inbox lag, last webhook per topic, the latest history import and reconcile",
    response=SyncStatusSchema(),
)
def get_sync_status() -> Response:
    shop = _shop()
    with runtime().sessions() as db:
        status = sync_status(db, shop)
    lag = status.inbox.oldest_pending_age(utcnow())
    document = {
        "inbox_counts": status.inbox.counts,
        "oldest_pending_at": status.inbox.oldest_pending_at,
        "inbox_lag_seconds": lag.total_seconds() if lag is not None else None,
        "last_webhooks": [
            {"topic": t, "received_at": at.isoformat()} for t, at in status.last_webhooks
        ],
        "history_import": _run(status.history),
        "reconcile": _run(status.reconcile),
    }
    return jsonify(SyncStatusSchema().dump(document))
