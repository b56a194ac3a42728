"""Install routes: the authorization-code grant and the App Bridge bounce page.

`/install` binds its OAuth state to the browser with a signed cookie (HttpOnly,
SameSite=Lax, Secure unless the app runs on plain http on loopback, as in development);
`/auth/callback` refuses a state whose cookie is missing or different.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, make_response, redirect, render_template, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from admin_ui.embedded import frame_ancestors, query_shop, runtime
from plugin.platforms.shopify import install
from plugin.platforms.shopify.oauth import collect_query
from plugin.shops.oauth_states import OAUTH_STATE_TTL

blueprint = Blueprint("auth", __name__)

STATE_COOKIE = "shopseg_oauth_state"
CALLBACK_PATH = "/auth/callback"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@blueprint.get("/install")
def start_install() -> Response:
    """Non-embedded install: off to the shop's grant screen with a single-use state."""
    started = install.begin_code_grant(runtime(), request.args.get("shop", ""), request.remote_addr)
    response = redirect(started.authorize_url)
    response.set_cookie(
        STATE_COOKIE,
        _serializer().dumps(started.binding),
        max_age=int(OAUTH_STATE_TTL.total_seconds()),
        path=CALLBACK_PATH,
        secure=_secure_cookies(),
        httponly=True,
        samesite="Lax",
    )
    return response


@blueprint.get(CALLBACK_PATH)
def callback() -> Response:
    """The shop comes back with a code: verify everything, install, open the admin tab."""
    rt = runtime()
    params = collect_query(request.args.items(multi=True))
    shop = install.complete_code_grant(rt, params, _browser_binding())
    admin_url = f"{rt.settings.shop_base_url(shop)}/admin/apps/{rt.settings.shopify_api_key}"
    response = redirect(admin_url)
    response.delete_cookie(
        STATE_COOKIE, path=CALLBACK_PATH, secure=_secure_cookies(), httponly=True, samesite="Lax"
    )
    return response


@blueprint.get("/auth/session-token")
def bounce() -> Response:
    """A page that only loads App Bridge, which reloads `shopify-reload` with a fresh token."""
    page = render_template("admin_ui/bounce.html", api_key=runtime().settings.shopify_api_key)
    return frame_ancestors(make_response(page), query_shop())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(runtime().settings.secret_key, salt="shopseg.oauth-state")


def _browser_binding() -> str | None:
    """The state binding this browser's cookie carries, if its signature and age hold."""
    cookie = request.cookies.get(STATE_COOKIE)
    if not cookie:
        return None
    try:
        binding = _serializer().loads(cookie, max_age=int(OAUTH_STATE_TTL.total_seconds()))
    except BadSignature:  # also an expired one (SignatureExpired is a BadSignature)
        return None
    return binding if isinstance(binding, str) else None


def _secure_cookies() -> bool:
    """Secure everywhere except an app on plain http at a loopback address (development)."""
    url = urlsplit(runtime().settings.app_url)
    return not (url.scheme == "http" and url.hostname in LOOPBACK)
