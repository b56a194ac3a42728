"""Session-token authentication of embedded admin requests and the responses it needs."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, jsonify, make_response, redirect, render_template, request
from werkzeug.wrappers import Response

from plugin.errors import AuthenticationError, ValidationError
from plugin.platforms.shopify.oauth import validate_shop_domain
from plugin.platforms.shopify.session_token import SessionToken, verify_session_token
from plugin.runtime import Runtime

RETRY_HEADER = "X-Shopify-Retry-Invalid-Session-Request"
BOUNCE_PATH = "/auth/session-token"


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions["shopseg"]
    return rt


def is_xhr() -> bool:
    """App Bridge's fetch carries the session token as a bearer header; documents do not."""
    return request.headers.get("Authorization", "").startswith("Bearer ")


def raw_session_token() -> str:
    if is_xhr():
        return request.headers["Authorization"].removeprefix("Bearer ").strip()
    return request.args.get("id_token", "")


def verified_session_token() -> SessionToken:
    """The request's session token, verified; AuthenticationError when absent or invalid."""
    raw = raw_session_token()
    if not raw:
        raise AuthenticationError("no session token")
    return verify_session_token(raw, runtime().settings)


def frame_ancestors(response: Response, shop: str | None) -> Response:
    """Only this shop's admin may frame the page (Shopify's embedded-app requirement)."""
    sources = f"https://{shop} https://admin.shopify.com" if shop else "'none'"
    response.headers["Content-Security-Policy"] = f"frame-ancestors {sources};"
    return response


def query_shop() -> str | None:
    try:
        return validate_shop_domain(request.args.get("shop", ""))
    except ValidationError:
        return None


def unauthenticated(detail: str) -> Response:
    """XHR: 401 that makes App Bridge retry with a fresh token; document: bounce or 401 page."""
    if is_xhr():
        response = jsonify({"error": "unauthorized", "detail": detail})
        response.status_code = 401
        response.headers[RETRY_HEADER] = "1"
        return response
    shop = query_shop()
    if shop is None:
        page = render_template("admin_ui/unauthorized.html", detail=detail)
        return frame_ancestors(make_response(page, 401), None)
    args = {k: v for k, v in request.args.items() if k != "id_token"}
    reload_to = f"{request.path}?{urlencode(args)}"
    target = f"{BOUNCE_PATH}?{urlencode({**args, 'shopify-reload': reload_to})}"
    return frame_ancestors(redirect(target), shop)
