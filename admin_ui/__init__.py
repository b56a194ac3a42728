"""The admin tab (pages, their partials and static files), its JSON API, and the
install/auth routes around them."""

from __future__ import annotations

from datetime import timedelta
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint
from flask.blueprints import BlueprintSetupState
from flask_babel import get_locale

from admin_ui import api, auth, pages
from admin_ui.i18n import LANGUAGE_NAMES, init_i18n
from admin_ui.rendering import layout_context

SESSION_LIFETIME = timedelta(hours=12)

blueprint = Blueprint(
    "admin_ui",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/admin/static",
)
blueprint.register_blueprint(auth.blueprint)
blueprint.register_blueprint(pages.blueprint)
blueprint.register_blueprint(api.blueprint)


def cookie_is_secure(app_url: str) -> bool:
    """Cookies are Secure unless the app itself is plain http on a loopback address."""
    parts = urlsplit(app_url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return not (parts.scheme == "http" and loopback)


@blueprint.record_once
def _configure(state: BlueprintSetupState) -> None:
    app = state.app
    settings = app.extensions["shopseg"].settings
    app.config.update(
        SESSION_COOKIE_NAME="shopseg_admin",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=cookie_is_secure(settings.app_url),
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    init_i18n(app)


@blueprint.app_context_processor
def _layout() -> dict[str, Any]:
    return {"lang": str(get_locale() or "en"), "languages": LANGUAGE_NAMES, **layout_context()}


__all__ = ["blueprint", "cookie_is_secure"]
