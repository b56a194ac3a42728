"""Standalone sign-in by one-time admin link, sign-out, and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import make_response, redirect, render_template, request, session
from werkzeug.wrappers import Response

from admin_ui.embedded import frame_ancestors, runtime
from admin_ui.i18n import LANGUAGE_SETTING, LANGUAGES
from admin_ui.pages import blueprint
from admin_ui.rendering import admin_url
from admin_ui.viewer import current_viewer, page_view, start_cookie_session
from plugin.db import utcnow
from plugin.errors import AuthenticationError, ValidationError
from plugin.profiles.shop_settings import set_setting
from plugin.shops.admin_links import redeem_admin_link


@blueprint.get("/admin/login")
def login() -> Response:
    """Spend a one-time admin link and start a cookie session for its shop."""
    rt = runtime()
    try:
        with rt.sessions.begin() as db:
            shop = redeem_admin_link(
                db, request.args.get("token", ""), rt.settings.secret_key, utcnow()
            )
    except AuthenticationError as exc:
        page = render_template("admin_ui/unauthorized.html", detail=exc.detail)
        return frame_ancestors(make_response(page, 401), None)
    start_cookie_session(shop)
    return redirect(admin_url("admin_ui.pages.home"))


@blueprint.post("/admin/logout")
@page_view
def logout() -> Response:
    session.clear()
    page = render_template("admin_ui/unauthorized.html", detail=None, signed_out=True)
    return frame_ancestors(make_response(page, 200), None)


def _back() -> str:
    """Where the switch was used (our own path only, never another site)."""
    referrer = urlsplit(request.referrer or "")
    if referrer.path.startswith("/admin") and referrer.netloc == request.host:
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return admin_url("admin_ui.pages.home")


@blueprint.post("/admin/language")
@page_view
def set_language() -> Response:
    language = request.form.get("language", "")
    if language not in LANGUAGES:
        raise ValidationError(f"unknown language {language!r}")
    with runtime().sessions.begin() as db:
        set_setting(db, current_viewer().shop_id, LANGUAGE_SETTING, language)
    return redirect(_back(), 303)
