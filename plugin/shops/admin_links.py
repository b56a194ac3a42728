"""One-time, short-lived signed links that open the standalone admin for one shop.

A link's token is `<shop id>.<nonce>.<expiry>.<mac>`: the MAC (HMAC-SHA256 with the app's
secret key) makes it unforgeable, and the nonce's hash kept in the shop's settings until
the link is used makes it single-use. Pending nonces past their expiry are dropped
whenever a link is issued or redeemed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.db import insert_for
from plugin.errors import AuthenticationError
from plugin.shops.models import INSTALLED, Shop, ShopSetting

LINKS = "admin_links"  # shop setting: {nonce hash: expiry as epoch seconds}
LINK_TTL = timedelta(minutes=10)


def _mac(secret_key: str, payload: str) -> str:
    digest = hmac.new(secret_key.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def _pending(row: ShopSetting, now: datetime) -> dict[str, int]:
    value = row.value if isinstance(row.value, dict) else {}
    return {k: int(v) for k, v in value.items() if int(v) > now.timestamp()}


def _locked_links(session: Session, shop_id: int) -> ShopSetting | None:
    stmt = select(ShopSetting).where(ShopSetting.shop_id == shop_id, ShopSetting.key == LINKS)
    return session.scalar(stmt.with_for_update())


def issue_admin_link(session: Session, shop_id: int, secret_key: str, now: datetime) -> str:
    """A fresh single-use token for `shop_id`, valid for `LINK_TTL`."""
    nonce = secrets.token_urlsafe(24)
    expiry = int((now + LINK_TTL).timestamp())
    insert = insert_for(session, ShopSetting).values(shop_id=shop_id, key=LINKS, value={})
    session.execute(insert.on_conflict_do_nothing(index_elements=["shop_id", "key"]))
    row = _locked_links(session, shop_id)
    if row is None:  # inserted or present just above, in this transaction
        raise LookupError(f"shop {shop_id} has no admin link row")
    row.value = {**_pending(row, now), _nonce_hash(nonce): expiry}
    payload = f"{shop_id}.{nonce}.{expiry}"
    return f"{payload}.{_mac(secret_key, payload)}"


def redeem_admin_link(session: Session, token: str, secret_key: str, now: datetime) -> Shop:
    """The installed shop a valid, unused, unexpired token opens; the token is spent."""
    parts = token.split(".")
    if len(parts) != 4 or not parts[0].isdigit() or not parts[2].isdigit():
        raise AuthenticationError("malformed admin link")
    payload = ".".join(parts[:3])
    if not hmac.compare_digest(_mac(secret_key, payload), parts[3]):
        raise AuthenticationError("admin link signature does not verify")
    shop_id, nonce, expiry = int(parts[0]), parts[1], int(parts[2])
    if expiry <= now.timestamp():
        raise AuthenticationError("admin link expired; print a new one with `shopseg admin-link`")
    row = _locked_links(session, shop_id)
    pending = _pending(row, now) if row is not None else {}
    if row is None or pending.pop(_nonce_hash(nonce), None) is None:
        raise AuthenticationError("admin link already used")
    row.value = pending
    shop = session.get(Shop, shop_id)
    if shop is None or shop.install_state != INSTALLED:
        raise AuthenticationError("the shop of this admin link is not installed")
    return shop
