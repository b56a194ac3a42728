"""How admin pages answer: a whole document, the page's content for htmx, or the shell.

One template per page extends `layout`: the full layout for documents and boosted
navigation, `partial.html` (the content block alone) when htmx asks for the content.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from flask import g, make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from admin_ui.embedded import frame_ancestors, runtime, unauthenticated, verified_session_token
from admin_ui.viewer import CSRF_FIELD, Viewer
from plugin.errors import AuthenticationError
from plugin.platforms.shopify import install
from plugin.shops import services

EMBEDDED_ARGS = ("shop", "host", "embedded")


def embedded_args() -> dict[str, str]:
    """The query Shopify gives an embedded page, kept on our links so a reload can bounce."""
    return {k: request.args[k] for k in EMBEDDED_ARGS if request.args.get(k)}


def admin_url(endpoint: str, **values: Any) -> str:
    viewer: Viewer | None = g.get("viewer")
    embedded = viewer.embedded if viewer is not None else "shell_shop_id" in g
    query: dict[str, Any] = embedded_args() if embedded else {}
    return url_for(endpoint, **values, **query)


def wants_content_only() -> bool:
    """htmx asked for a page's content (not a boosted navigation, which swaps the body)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def _finish(html: str, shop: str | None, status: int = 200) -> Response:
    response = frame_ancestors(make_response(html, status), shop)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "HX-Request, HX-Boosted, Authorization, Cookie"
    return response


def render_page(template: str, status: int = 200, **context: Any) -> Response:
    viewer: Viewer = g.viewer
    layout = "admin_ui/partial.html" if wants_content_only() else "admin_ui/layout.html"
    html = render_template(template, layout=layout, **context)
    return _finish(html, viewer.domain if viewer.embedded else None, status)


def navigate_to(url: str) -> Response:
    """After a change: htmx loads `url` into the page (and pushes it); a plain form redirects."""
    if request.headers.get("HX-Request") != "true":
        return redirect(url, 303)
    response = make_response("", 200)
    response.headers["HX-Location"] = json.dumps({"path": url, "target": "#main"})
    return response


def render_fragment(template: str, **context: Any) -> Response:
    viewer: Viewer = g.viewer
    return _finish(render_template(template, **context), viewer.domain if viewer.embedded else None)


def render_shell() -> Response:
    """The embedded first paint: the layout with no data; the content loads by htmx with
    the session token, and that request does any token exchange."""
    try:
        token = verified_session_token()
    except AuthenticationError as exc:
        return unauthenticated(exc.detail)
    with runtime().sessions() as db:
        shop = services.get_shop(db, install.PLATFORM, token.shop)
    g.shell_shop_id = shop.id if shop is not None else None
    args = {k: v for k, v in request.args.items() if k != "id_token"}
    content_url = f"{request.path}?{urlencode(args)}"
    html = render_template(
        "admin_ui/shell.html", layout="admin_ui/layout.html", content_url=content_url
    )
    return _finish(html, token.shop)


def layout_context() -> dict[str, Any]:
    """What the layout needs on every page: mode, keys and the link helper."""
    viewer: Viewer | None = g.get("viewer")
    embedded = viewer.embedded if viewer is not None else "shell_shop_id" in g
    return {
        "viewer": viewer,
        "embedded": embedded,
        "api_key": runtime().settings.shopify_api_key,
        "csrf_token": viewer.csrf_token if viewer is not None else None,
        "csrf_field": CSRF_FIELD,
        "admin_url": admin_url,
    }
