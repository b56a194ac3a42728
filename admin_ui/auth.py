"""Install routes: the authorization-code grant and the App Bridge bounce page."""

from __future__ import annotations

from flask import Blueprint, make_response, redirect, render_template, request
from werkzeug.wrappers import Response

from admin_ui.embedded import frame_ancestors, query_shop, runtime
from plugin.platforms.shopify import install
from plugin.platforms.shopify.oauth import collect_query

blueprint = Blueprint("auth", __name__)


@blueprint.get("/install")
def start_install() -> Response:
    """Non-embedded install: off to the shop's grant screen with a single-use state."""
    return redirect(install.begin_code_grant(runtime(), request.args.get("shop", "")))


@blueprint.get("/auth/callback")
def callback() -> Response:
    """The shop comes back with a code: verify everything, install, open the admin tab."""
    rt = runtime()
    shop = install.complete_code_grant(rt, collect_query(request.args.items(multi=True)))
    admin_url = f"{rt.settings.shop_base_url(shop)}/admin/apps/{rt.settings.shopify_api_key}"
    return redirect(admin_url)


@blueprint.get("/auth/session-token")
def bounce() -> Response:
    """A page that only loads App Bridge, which reloads `shopify-reload` with a fresh token."""
    page = render_template("admin_ui/bounce.html", api_key=runtime().settings.shopify_api_key)
    return frame_ancestors(make_response(page), query_shop())
