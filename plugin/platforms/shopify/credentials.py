"""Shopify's token grants as a shop's credentials: at install, and when an expiring offline
token is rotated (`plugin.shops.tokens` calls `refresh_credentials`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from plugin.db import utcnow
from plugin.platforms.shopify import oauth
from plugin.platforms.shopify.oauth import TokenGrant
from plugin.runtime import Runtime
from plugin.shops.credentials import Credentials


def refresh_credentials(runtime: Runtime, shop: str, refresh_token: str) -> Credentials:
    """Rotate an expiring offline token (see `plugin.shops.tokens`)."""
    grant = oauth.refresh_access_token(runtime.http, runtime.settings, shop, refresh_token)
    return credentials_from_grant(grant, utcnow())


def credentials_from_grant(grant: TokenGrant, now: datetime) -> Credentials:
    def at(seconds: int | None) -> datetime | None:
        return None if seconds is None else now + timedelta(seconds=seconds)

    return Credentials(
        access_token=grant.access_token,
        scopes=grant.scopes,
        access_expires_at=at(grant.expires_in),
        refresh_token=grant.refresh_token,
        refresh_expires_at=at(grant.refresh_token_expires_in),
    )
