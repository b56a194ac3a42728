"""OAuth `state` nonces of the authorization-code grant: issued, bounded, consumed once.

The table cannot be filled from outside: every issue first purges expired and used rows,
and refuses (RateLimited) past a cap of pending states per shop, per client and in all.
The client is an HMAC of its address, so the table holds no IP address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from plugin.db import lock_keys
from plugin.errors import RateLimited
from plugin.shops.models import OAuthState

OAUTH_STATE_TTL = timedelta(minutes=10)
MAX_PENDING_PER_SHOP = 10
MAX_PENDING_PER_CLIENT = 30
MAX_PENDING = 10_000


def client_key(secret_key: str, address: str | None) -> str | None:
    """A stable, non-reversible key for a client address (None without one)."""
    if not address:
        return None
    return hmac.new(secret_key.encode(), address.encode(), hashlib.sha256).hexdigest()[:32]


def state_binding(nonce: str) -> str:
    """What the browser's cookie carries for a state: its hash, never the nonce itself."""
    return hashlib.sha256(nonce.encode()).hexdigest()


def create_oauth_state(
    session: Session, shop_domain: str, now: datetime, client: str | None = None
) -> str:
    """A single-use nonce for the grant; RateLimited past the caps of pending states."""
    lock_keys(session, "oauth_states")  # concurrent installs count one after the other
    purge_oauth_states(session, now)
    _check_caps(session, shop_domain, client, now)
    nonce = secrets.token_urlsafe(32)
    session.add(OAuthState(nonce=nonce, shop_domain=shop_domain, client_key=client, created_at=now))
    return nonce


def consume_oauth_state(session: Session, nonce: str, shop_domain: str, now: datetime) -> bool:
    """True once for a nonce issued to this shop within the last 10 minutes."""
    result = session.execute(
        update(OAuthState)
        .where(
            OAuthState.nonce == nonce,
            OAuthState.shop_domain == shop_domain,
            OAuthState.used_at.is_(None),
            OAuthState.created_at >= now - OAUTH_STATE_TTL,
        )
        .values(used_at=now)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def purge_oauth_states(session: Session, now: datetime) -> int:
    """Delete expired and used states (a used one can never be consumed again)."""
    expired = OAuthState.created_at < now - OAUTH_STATE_TTL
    result = session.execute(
        delete(OAuthState).where(or_(expired, OAuthState.used_at.is_not(None)))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _check_caps(session: Session, shop_domain: str, client: str | None, now: datetime) -> None:
    pending = (OAuthState.used_at.is_(None)) & (OAuthState.created_at >= now - OAUTH_STATE_TTL)
    total, for_shop, for_client = session.execute(
        select(
            func.count(),
            func.count().filter(OAuthState.shop_domain == shop_domain),
            func.count().filter(OAuthState.client_key == client),
        ).where(pending)
    ).one()
    minutes = int(OAUTH_STATE_TTL.total_seconds() // 60)
    if for_shop >= MAX_PENDING_PER_SHOP:
        raise RateLimited(f"too many installs of {shop_domain} started in {minutes} minutes")
    if client is not None and for_client >= MAX_PENDING_PER_CLIENT:
        raise RateLimited(f"too many installs started from this address in {minutes} minutes")
    if total >= MAX_PENDING:
        raise RateLimited("too many installs in progress; try again in a few minutes")
