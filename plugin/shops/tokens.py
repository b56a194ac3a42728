"""A shop's access token for outbound calls, refreshed (by one worker at a time) before expiry."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from plugin import crypto
from plugin.db import utcnow
from plugin.errors import NotFoundError, PlatformError, ReauthRequired
from plugin.platforms.shopify.credentials import refresh_credentials
from plugin.runtime import Runtime
from plugin.shops.credentials import Credentials
from plugin.shops.models import INSTALLED, NEEDS_REAUTH, Shop

__all__ = ["Credentials", "access_token"]

REFRESH_MARGIN = timedelta(minutes=5)  # refresh this long before the access token expires
STILL_VALID = timedelta(seconds=10)  # a token this fresh may be used while another refreshes
LOCK_TTL = timedelta(seconds=30)  # a crashed refresher's claim lapses after this
WAIT_STEP_SECONDS = 0.05

log = logging.getLogger(__name__)


# platform -> function(runtime, shop domain, refresh token) -> rotated Credentials
Refresher = Callable[[Runtime, str, str], Credentials]


def _refresher(platform: str) -> Refresher:
    if platform == "shopify":
        return refresh_credentials
    raise NotImplementedError(f"no token refresh for platform {platform}")


@dataclass(frozen=True)
class _Seen:
    """What one read of the shop row found."""

    domain: str
    platform: str
    access_token: str
    expires_at: datetime | None
    refresh_token: str | None
    refresh_expires_at: datetime | None
    claimed: bool


def access_token(runtime: Runtime, shop_id: int) -> str:
    """A working access token for the shop, refreshing it first when it is about to expire.

    Exactly one caller refreshes (it wins a conditional UPDATE of `refresh_lock_until`);
    the others use the current token while it is still valid, else wait for the new one.
    The refresh request runs outside any transaction. Raises ReauthRequired for an
    uninstalled shop, one whose refresh was refused, or one marked `needs_reauth`.
    """
    deadline = time.monotonic() + LOCK_TTL.total_seconds() + 5
    while True:
        now = utcnow()
        seen = _read_and_claim(runtime, shop_id, now)
        if isinstance(seen, str):
            return seen
        if seen.claimed:
            return _refresh(runtime, shop_id, seen, now)
        if seen.expires_at is not None and seen.expires_at > now + STILL_VALID:
            return seen.access_token
        if time.monotonic() > deadline:
            raise PlatformError(f"{seen.domain}: waited too long for another token refresh")
        time.sleep(WAIT_STEP_SECONDS)


def _read_and_claim(runtime: Runtime, shop_id: int, now: datetime) -> str | _Seen:
    """The token when it is good for a while; else the row as read, and whether we claimed it."""
    key = runtime.settings.secret_key
    with runtime.sessions() as session:
        shop = _usable(session, shop_id)
        token = crypto.decrypt(key, shop.access_token_enc or "")
        expires_at = shop.access_token_expires_at
        if shop.auth_method == "custom" or expires_at is None or expires_at > now + REFRESH_MARGIN:
            return token
        claimed = _claim(session, shop_id, expires_at, now)
        session.commit()
        return _Seen(
            domain=shop.domain,
            platform=shop.platform,
            access_token=token,
            expires_at=expires_at,
            refresh_token=crypto.decrypt(key, shop.refresh_token_enc)
            if shop.refresh_token_enc
            else None,
            refresh_expires_at=shop.refresh_token_expires_at,
            claimed=claimed,
        )


def _usable(session: Session, shop_id: int) -> Shop:
    shop = session.get(Shop, shop_id)
    if shop is None:
        raise NotFoundError(f"no shop with id {shop_id}")
    if shop.install_state != INSTALLED or not shop.access_token_enc:
        reason = f": {shop.reauth_reason}" if shop.reauth_reason else ""
        raise ReauthRequired(f"{shop.domain} is {shop.install_state}{reason}")
    return shop


def _claim(session: Session, shop_id: int, seen_expiry: datetime, now: datetime) -> bool:
    # Matching the expiry we saw means nobody refreshed since; the lock column means
    # nobody is refreshing now. On PostgreSQL the UPDATE re-checks both after a wait.
    result = session.execute(
        update(Shop)
        .where(
            Shop.id == shop_id,
            Shop.install_state == INSTALLED,
            Shop.access_token_expires_at == seen_expiry,
            or_(Shop.refresh_lock_until.is_(None), Shop.refresh_lock_until < now),
        )
        .values(refresh_lock_until=now + LOCK_TTL)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _refresh(runtime: Runtime, shop_id: int, seen: _Seen, now: datetime) -> str:
    if seen.refresh_token is None or (
        seen.refresh_expires_at is not None and seen.refresh_expires_at <= now
    ):
        _give_up(runtime, shop_id, "the refresh token is missing or expired")
    try:
        credentials = _refresher(seen.platform)(runtime, seen.domain, seen.refresh_token or "")
    except PlatformError as exc:
        if not exc.transient:
            _give_up(runtime, shop_id, f"token refresh refused: {exc.detail}")
        _release(runtime, shop_id)
        if seen.expires_at is None or seen.expires_at <= now + STILL_VALID:
            raise
        # The shop is briefly unreachable but the current token still works: use it.
        log.warning("shops.token.refresh_failed shop=%s error=%s", seen.domain, exc.detail)
        return seen.access_token
    except BaseException:
        _release(runtime, shop_id)
        raise
    _store_rotated(runtime, shop_id, credentials)
    log.info("shops.token.refreshed shop=%s", seen.domain)
    return credentials.access_token


def _store_rotated(runtime: Runtime, shop_id: int, credentials: Credentials) -> None:
    """The new pair in one UPDATE, unless the shop was uninstalled meanwhile."""
    key = runtime.settings.secret_key
    with runtime.sessions.begin() as session:
        session.execute(
            update(Shop)
            .where(Shop.id == shop_id, Shop.install_state == INSTALLED)
            .values(
                access_token_enc=crypto.encrypt(key, credentials.access_token),
                access_token_expires_at=credentials.access_expires_at,
                refresh_token_enc=crypto.encrypt(key, credentials.refresh_token)
                if credentials.refresh_token
                else None,
                refresh_token_expires_at=credentials.refresh_expires_at,
                refresh_lock_until=None,
            )
        )


def _release(runtime: Runtime, shop_id: int) -> None:
    with runtime.sessions.begin() as session:
        session.execute(update(Shop).where(Shop.id == shop_id).values(refresh_lock_until=None))


def _give_up(runtime: Runtime, shop_id: int, reason: str) -> NoReturn:
    """Mark the shop `needs_reauth` (no retry loop) and raise ReauthRequired."""
    with runtime.sessions.begin() as session:
        mark_needs_reauth(session, shop_id, reason)
    log.warning("shops.token.needs_reauth shop_id=%s", shop_id)
    raise ReauthRequired(reason)


def mark_needs_reauth(session: Session, shop_id: int, reason: str) -> None:
    """Pause outbound calls until the merchant opens (and so re-authorises) the app.

    Also for callers whose request the shop refused with 401: the token is no good.
    """
    session.execute(
        update(Shop)
        .where(Shop.id == shop_id, Shop.install_state == INSTALLED)
        .values(install_state=NEEDS_REAUTH, reauth_reason=reason[:500], refresh_lock_until=None)
    )
