"""Shopify's webhook signature: base64 HMAC-SHA256 of the raw body, keyed by a secret."""

from __future__ import annotations

import base64

from plugin.crypto import hmac_sha256


def webhook_hmac(secret: str, body: bytes) -> str:
    """The `X-Shopify-Hmac-Sha256` value of `body` signed with `secret`."""
    return base64.b64encode(hmac_sha256(secret, body)).decode()
