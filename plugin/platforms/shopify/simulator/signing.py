"""What Shopify signs: OAuth query HMACs, App Bridge session tokens and webhook deliveries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import jwt
import requests


def query_hmac(params: Mapping[str, str], secret: str) -> str:
    """Shopify's query HMAC: over decoded values, sorted, only delimiters escaped."""
    pairs = sorted(
        (
            k.replace("%", "%25").replace("&", "%26").replace("=", "%3D"),
            v.replace("%", "%25").replace("&", "%26"),
        )
        for k, v in params.items()
        if k not in ("hmac", "signature")
    )
    message = "&".join(f"{k}={v}" for k, v in pairs)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def sign_query(params: Mapping[str, str], secret: str) -> dict[str, str]:
    return {**params, "hmac": query_hmac(params, secret)}


def host_param(shop: str) -> str:
    """The `host` parameter: padded base64 of the shop's admin address."""
    handle = shop.split(".", 1)[0]
    return base64.b64encode(f"admin.shopify.com/store/{handle}".encode()).decode()


def mint_session_token(
    shop: str,
    api_key: str,
    api_secret: str,
    *,
    ttl: int = 60,
    now: float | None = None,
    **claims: Any,
) -> str:
    """An App Bridge session token (HS256 JWT); keyword claims override the defaults."""
    issued = int(now if now is not None else time.time())
    payload: dict[str, Any] = {
        "iss": f"https://{shop}/admin",
        "dest": f"https://{shop}",
        "aud": api_key,
        "sub": "42",
        "exp": issued + ttl,
        "nbf": issued,
        "iat": issued,
        "jti": str(uuid.uuid4()),
        "sid": secrets.token_hex(16),
    }
    payload.update(claims)
    return jwt.encode(payload, api_secret, algorithm="HS256")


def webhook_headers(
    shop: str,
    topic: str,
    body: bytes,
    secret: str,
    *,
    api_version: str = "2026-04",
    webhook_id: str | None = None,
    event_id: str | None = None,
    triggered_at: datetime | None = None,
) -> dict[str, str]:
    """The headers of a signed delivery, as Shopify sends them."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    moment = triggered_at or datetime.now(UTC)
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": api_version,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
        "X-Shopify-Triggered-At": moment.isoformat().replace("+00:00", "Z"),
    }


def send_webhook(
    url: str,
    shop: str,
    topic: str,
    payload: Any,
    secret: str,
    *,
    timeout: float = 10,
    http: requests.Session | None = None,
    **header_options: Any,
) -> requests.Response:
    """POST one signed delivery to `url` (options as in `webhook_headers`)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = webhook_headers(shop, topic, body, secret, **header_options)
    return (http or requests).post(url, data=body, headers=headers, timeout=timeout)


def staged_upload_signature(secret: str, policy: str) -> str:
    """The simulated storage's signature of a staged upload policy (hex HMAC-SHA256)."""
    return hmac.new(secret.encode(), policy.encode(), hashlib.sha256).hexdigest()
