"""The three ways a Shopify shop installs the app: code grant, token exchange, custom-app token.

Each stores the shop in one transaction, then (outside it) reads the shop's timezone,
currency and active subscription (its plan) over the Admin API and evaluates the new
shop's segments. Nothing here holds a
transaction open across HTTP.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plugin.billing.services import Subscription, record_installed
from plugin.db import utcnow
from plugin.errors import AuthenticationError, Forbidden, PlatformError
from plugin.manifest import access_scopes
from plugin.platforms.shopify import oauth
from plugin.platforms.shopify.client import AdminClient
from plugin.platforms.shopify.credentials import credentials_from_grant
from plugin.platforms.shopify.documents import SHOP_INFO
from plugin.platforms.shopify.oauth import QueryValue, TokenGrant
from plugin.platforms.shopify.session_token import SessionToken
from plugin.platforms.shopify.subscriptions import register_webhooks
from plugin.runtime import Runtime
from plugin.segments.evaluator_sweep import evaluate_shop_now
from plugin.shops import oauth_states, services
from plugin.shops.credentials import Credentials
from plugin.shops.models import Shop

PLATFORM = "shopify"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShopInfo:
    timezone: str | None
    currency: str | None
    scopes: tuple[str, ...]
    subscriptions: tuple[Subscription, ...] = ()  # the installation's active ones


@dataclass(frozen=True)
class CustomInstall:
    info: ShopInfo
    subscribed: list[str]  # topics newly subscribed (already subscribed ones are left out)


@dataclass(frozen=True)
class CodeGrantStart:
    authorize_url: str
    binding: str  # for the browser's cookie: the callback must come back with it


def begin_code_grant(runtime: Runtime, shop_param: str, client: str | None) -> CodeGrantStart:
    """`GET /install?shop=…`: a fresh single-use state (bounded per shop and per client
    address) and the authorize URL carrying it."""
    shop = oauth.validate_shop_domain(shop_param)
    key = oauth_states.client_key(runtime.settings.secret_key, client)
    with runtime.sessions.begin() as session:
        nonce = oauth_states.create_oauth_state(session, shop, utcnow(), key)
    url = oauth.authorize_url(runtime.settings, shop, access_scopes(), nonce)
    return CodeGrantStart(url, oauth_states.state_binding(nonce))


def complete_code_grant(
    runtime: Runtime, params: Mapping[str, QueryValue], binding: str | None
) -> str:
    """`GET /auth/callback`: verify (the state must be the one this browser was given),
    exchange the code, check the scopes, install. The shop."""
    shop = oauth.validate_shop_domain(str(params.get("shop") or ""))
    oauth.verify_query(params, runtime.settings.api_secrets, now=time.time())
    state = str(params.get("state") or "")
    if not binding or not hmac.compare_digest(binding, oauth_states.state_binding(state)):
        raise Forbidden(
            "this install was not started in this browser (or its cookie expired):"
            f" start again at /install?shop={shop}"
        )
    with runtime.sessions.begin() as session:
        used = oauth_states.consume_oauth_state(session, state, shop, utcnow())
    if not used:
        raise AuthenticationError("the OAuth state is unknown, already used or expired")
    grant = oauth.exchange_code(runtime.http, runtime.settings, shop, str(params.get("code") or ""))
    missing = oauth.missing_scopes(grant.scopes, access_scopes())
    if missing:
        raise AuthenticationError(f"the shop did not grant the scopes {', '.join(missing)}")
    _install(runtime, shop, grant, "oauth")
    return shop


def install_from_session_token(runtime: Runtime, token: SessionToken) -> None:
    """Managed install: exchange the admin's session token for an offline token."""
    grant = oauth.exchange_session_token(runtime.http, runtime.settings, token.shop, token.raw)
    missing = oauth.missing_scopes(grant.scopes, access_scopes())
    if missing:  # scopes are Shopify-managed here: work with what we have, but say so
        log.warning("shops.install.missing_scopes shop=%s scopes=%s", token.shop, missing)
    _install(runtime, token.shop, grant, "managed")


def add_custom_shop(
    runtime: Runtime, domain: str, token: str, webhook_secret: str
) -> CustomInstall:
    """A merchant's custom-app token: check it works, store it, subscribe the webhooks."""
    shop = oauth.validate_shop_domain(domain)
    client = AdminClient(runtime.http, runtime.settings, shop, token)
    info = fetch_shop_info(client)  # a refused token fails here, before anything is stored
    credentials = Credentials(token, info.scopes, webhook_secret=webhook_secret)
    shop_id = _store(runtime, shop, credentials, "custom")
    _record_info(runtime, shop_id, info)
    evaluate_shop_now(runtime, shop_id, first_time_only=True)
    return CustomInstall(info, register_webhooks(client, runtime.settings.app_url))


def fetch_shop_info(client: AdminClient) -> ShopInfo:
    data = client.execute(SHOP_INFO)
    shop = data.get("shop") or {}
    installation = data.get("currentAppInstallation") or {}
    scopes = tuple(s["handle"] for s in installation.get("accessScopes") or [])
    subs = tuple(_subscription(s) for s in installation.get("activeSubscriptions") or [])
    return ShopInfo(shop.get("ianaTimezone"), shop.get("currencyCode"), scopes, subs)


def _subscription(node: dict[str, Any]) -> Subscription:
    created = node.get("createdAt")
    return Subscription(
        node.get("id"),
        node.get("name"),
        str(node.get("status") or "").upper(),
        datetime.fromisoformat(created) if created else None,
        bool(node.get("test")),
    )


def _install(runtime: Runtime, shop: str, grant: TokenGrant, auth_method: str) -> None:
    shop_id = _store(runtime, shop, credentials_from_grant(grant, utcnow()), auth_method)
    client = AdminClient(runtime.http, runtime.settings, shop, grant.access_token)
    try:
        info = fetch_shop_info(client)
    except PlatformError as exc:  # installed all the same; shop/update will bring them
        log.warning("shops.install.shop_info_failed shop=%s error=%s", shop, exc.detail)
    else:
        _record_info(runtime, shop_id, info)
    # The built-in segments settle now, in the shop's timezone, so the first deliveries
    # fill them in real time instead of waiting for the scheduled sweep.
    evaluate_shop_now(runtime, shop_id, first_time_only=True)


def _store(runtime: Runtime, shop: str, credentials: Credentials, auth_method: str) -> int:
    """One unit of work: the installed shop row, and its early webhooks released."""
    with runtime.sessions.begin() as session:
        row = services.install_shop(
            session,
            runtime.settings,
            PLATFORM,
            shop,
            credentials,
            auth_method=auth_method,
            now=utcnow(),
        )
        services.release_pending_deliveries(session, PLATFORM, shop)
        log.info("shops.installed shop=%s auth=%s", shop, auth_method)
        return row.id


def _record_info(runtime: Runtime, shop_id: int, info: ShopInfo) -> None:
    with runtime.sessions.begin() as session:
        services.record_shop_info(session, shop_id, timezone=info.timezone, currency=info.currency)
        shop = session.get(Shop, shop_id)
        if shop is not None:
            record_installed(session, shop, list(info.subscriptions), utcnow())
