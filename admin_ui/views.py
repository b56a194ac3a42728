"""Admin tab pages, authenticated by the shop's session token (managed install on first load)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, make_response, render_template
from werkzeug.wrappers import Response

from admin_ui.embedded import frame_ancestors, runtime, unauthenticated, verified_session_token
from plugin.db import utcnow
from plugin.errors import AuthenticationError
from plugin.platforms.shopify import install
from plugin.platforms.shopify.session_token import SessionToken
from plugin.shops import services
from plugin.shops.models import Shop

blueprint = Blueprint("admin", __name__)


def _installed_shop(token: SessionToken) -> Shop:
    """The shop of a verified session; exchanges the token first if it has no usable one."""
    rt = runtime()
    with rt.sessions() as session:
        shop = services.get_shop(session, install.PLATFORM, token.shop)
    if not services.has_usable_token(shop, utcnow()):
        install.install_from_session_token(rt, token)
        with rt.sessions() as session:
            shop = services.get_shop(session, install.PLATFORM, token.shop)
    if shop is None:
        raise LookupError(f"{token.shop} is not installed after the token exchange")
    return shop


def _authenticated() -> Shop | Response:
    try:
        return _installed_shop(verified_session_token())
    except AuthenticationError as exc:
        return unauthenticated(exc.detail)


@blueprint.get("/admin")
def home() -> Response:
    shop = _authenticated()
    if isinstance(shop, Response):
        return shop
    page = render_template(
        "admin_ui/home.html", shop=shop, api_key=runtime().settings.shopify_api_key
    )
    return frame_ancestors(make_response(page), shop.domain)


@blueprint.get("/admin/api/shop")
def shop_status() -> Response:
    """What the admin tab shows about the shop (JSON for App Bridge's fetch)."""
    shop = _authenticated()
    if isinstance(shop, Response):
        return shop
    return jsonify(_shop_json(shop))


def _shop_json(shop: Shop) -> dict[str, Any]:
    return {
        "id": str(shop.id),
        "domain": shop.domain,
        "install_state": shop.install_state,
        "auth_method": shop.auth_method,
        "timezone": shop.timezone,
        "currency": shop.currency,
        "scopes": [s for s in (shop.scopes or "").split(",") if s],
    }
