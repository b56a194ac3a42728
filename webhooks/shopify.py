"""`POST /webhooks/shopify`: HMAC verification and the durable inbox insert."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("webhooks", __name__, url_prefix="/webhooks")
