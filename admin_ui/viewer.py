"""Who is asking: the shop behind an admin request, and the guards every admin route wears.

Two ways in. Embedded in Shopify's admin, every request carries a session token (App
Bridge's `fetch` adds it; our htmx hook adds it to XHRs), and the first document carries it
as `id_token`. Standalone, a one-time admin link starts a cookie session whose CSRF token
must accompany every state-changing request. Bearer requests cannot be forged cross-site
(a custom header needs CORS), and their Origin, when sent, must be the app's.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import g, jsonify, request, session
from werkzeug.wrappers import Response

from admin_ui.embedded import is_xhr, runtime, unauthenticated, verified_session_token
from admin_ui.i18n import remember_admin_locale
from plugin.db import utcnow
from plugin.errors import AuthenticationError, ShopSegError
from plugin.platforms.shopify import install
from plugin.platforms.shopify.session_token import SessionToken
from plugin.shops import services
from plugin.shops.models import INSTALLED, Shop

SESSION_SHOP = "admin_shop_id"
SESSION_CSRF = "admin_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class CsrfError(ShopSegError):
    code = "csrf_failed"
    status = 403


@dataclass(frozen=True)
class Viewer:
    """The shop an authenticated admin request acts for."""

    shop_id: int
    domain: str
    currency: str
    timezone: str
    embedded: bool
    csrf_token: str | None = None


def current_viewer() -> Viewer:
    viewer: Viewer = g.viewer
    return viewer


def start_cookie_session(shop: Shop) -> None:
    """A fresh standalone session for `shop` (a new CSRF token, nothing carried over)."""
    session.clear()
    session.permanent = True
    session[SESSION_SHOP] = shop.id
    session[SESSION_CSRF] = secrets.token_urlsafe(32)


def installed_shop(token: SessionToken) -> Shop:
    """The shop of a verified session token; exchanges the token first if it has no
    usable one (managed install: the first open of the admin tab installs the app)."""
    rt = runtime()
    with rt.sessions() as db:
        shop = services.get_shop(db, install.PLATFORM, token.shop)
    if not services.has_usable_token(shop, utcnow()):
        install.install_from_session_token(rt, token)
        with rt.sessions() as db:
            shop = services.get_shop(db, install.PLATFORM, token.shop)
    if shop is None:
        raise LookupError(f"{token.shop} is not installed after the token exchange")
    return shop


def _viewer(shop: Shop, *, embedded: bool, csrf: str | None = None) -> Viewer:
    return Viewer(shop.id, shop.domain, shop.currency, shop.timezone, embedded, csrf)


def _check_origin() -> None:
    origin = request.headers.get("Origin")
    if not origin:
        return
    app = urlsplit(runtime().settings.app_url)
    if origin.rstrip("/") != f"{app.scheme}://{app.netloc}":
        raise CsrfError("request from another origin")


def _check_csrf(expected: str) -> None:
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
    if not sent or not hmac.compare_digest(sent, expected):
        raise CsrfError("missing or wrong CSRF token; reload the page")


def _cookie_viewer() -> Viewer:
    shop_id, csrf = session.get(SESSION_SHOP), session.get(SESSION_CSRF)
    if not isinstance(shop_id, int) or not isinstance(csrf, str):
        raise AuthenticationError("no admin session; open the link `shopseg admin-link` prints")
    with runtime().sessions() as db:
        shop = db.get(Shop, shop_id)
    if shop is None or shop.install_state != INSTALLED:
        session.clear()
        raise AuthenticationError("the shop of this session is not installed")
    if request.method in UNSAFE_METHODS:
        _check_csrf(csrf)
    return _viewer(shop, embedded=False, csrf=csrf)


def authenticate() -> Viewer:
    """The viewer of this request; AuthenticationError or CsrfError when it has none."""
    if is_xhr():
        token = verified_session_token()
        _check_origin()
        return _viewer(installed_shop(token), embedded=True)
    return _cookie_viewer()


def is_embedded_document() -> bool:
    """The first load inside Shopify's admin: a document GET with `id_token` in its query."""
    return (
        request.method == "GET"
        and not is_xhr()
        and "HX-Request" not in request.headers
        and bool(request.args.get("id_token"))
    )


def page_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """An admin page or partial: the embedded first load gets the shell at once (its
    content follows by htmx, so the token exchange never blocks the first paint)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from admin_ui.rendering import render_shell  # rendering builds on the viewer

        if is_embedded_document():
            return render_shell()
        try:
            g.viewer = authenticate()
        except AuthenticationError as exc:
            return unauthenticated(exc.detail)
        if g.viewer.embedded:
            remember_admin_locale(g.viewer.shop_id)
        return view(*args, **kwargs)

    return wrapper


def api_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """A JSON API route: the same viewer as the pages; failures are `{error, detail}`."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            g.viewer = authenticate()
        except AuthenticationError as exc:
            return _json_unauthenticated(exc.detail)
        return view(*args, **kwargs)

    return wrapper


def _json_unauthenticated(detail: str) -> Response:
    if is_xhr():
        return unauthenticated(detail)  # 401 with Shopify's retry header
    response = jsonify({"error": "unauthorized", "detail": detail})
    response.status_code = 401
    return response
