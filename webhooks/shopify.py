"""`POST /webhooks/shopify`: HMAC verification and the durable inbox insert."""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, jsonify, request

from plugin.errors import AuthenticationError, ValidationError
from plugin.inbox.services import IncomingDelivery, record_delivery, webhook_secrets
from plugin.platforms.shopify.webhook_signature import webhook_hmac
from plugin.runtime import Runtime

PLATFORM = "shopify"
SHOP_DOMAIN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$")
HMAC_HEADER = "hmac-sha256"
# Shopify's "Events" deliveries drop the X- prefix; both spellings are accepted.
PREFIXES = ("x-shopify-", "shopify-")

blueprint = Blueprint("webhooks", __name__, url_prefix="/webhooks")
log = logging.getLogger(__name__)


@blueprint.post("/shopify")
def receive() -> tuple[Response, int]:
    """Verify → store → 200. Anything else happens later in the worker."""
    headers = shopify_headers(request.headers.items())
    if not headers.get(HMAC_HEADER):
        log.warning("webhooks.shopify.hmac_missing")
        raise AuthenticationError("X-Shopify-Hmac-Sha256 is missing")
    body = request.get_data(cache=False)  # raw bytes: the HMAC covers exactly these
    shop_domain = _shop_domain(headers)
    runtime: Runtime = current_app.extensions["shopseg"]
    with runtime.sessions() as session:
        secrets = webhook_secrets(session, runtime.settings, PLATFORM, shop_domain)
        _verify(body, headers[HMAC_HEADER], secrets, shop_domain)
        incoming = _incoming(headers, body, shop_domain)
        new = record_delivery(session, incoming)
    log.info(
        "webhooks.shopify.%s shop=%s topic=%s",
        "stored" if new else "duplicate",
        shop_domain,
        incoming.topic,
    )
    return jsonify({"status": "stored" if new else "duplicate"}), 200


def shopify_headers(raw: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Shopify's headers by lower-case name without prefix (`topic`, `hmac-sha256`, …)."""
    found: dict[str, str] = {}
    for name, value in raw:
        lower = name.lower()
        for prefix in PREFIXES:
            if lower.startswith(prefix):
                found.setdefault(lower.removeprefix(prefix), value)
    return found


def _shop_domain(headers: dict[str, str]) -> str:
    domain = headers.get("shop-domain", "").strip().lower()
    if not SHOP_DOMAIN.match(domain):
        raise ValidationError("X-Shopify-Shop-Domain is missing or not a myshopify.com domain")
    return domain


def _verify(body: bytes, given: str, secrets: list[str], shop_domain: str) -> None:
    if not secrets:
        log.error("webhooks.shopify.no_secret shop=%s", shop_domain)
        raise AuthenticationError("no webhook secret is configured for this shop")
    # Compare against every candidate so timing does not reveal which secret matched.
    matches = [hmac.compare_digest(webhook_hmac(s, body).encode(), given.encode()) for s in secrets]
    if not any(matches):
        log.warning("webhooks.shopify.hmac_invalid shop=%s", shop_domain)
        raise AuthenticationError("X-Shopify-Hmac-Sha256 does not match the body")


def _incoming(headers: dict[str, str], body: bytes, shop_domain: str) -> IncomingDelivery:
    topic, webhook_id = headers.get("topic"), headers.get("webhook-id")
    if not topic or not webhook_id:
        raise ValidationError("X-Shopify-Topic and X-Shopify-Webhook-Id are required")
    try:
        text = body.decode("utf-8")
        parsed = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError("the body is not JSON") from exc
    if not isinstance(parsed, dict):
        raise ValidationError("the body is not a JSON object")
    return IncomingDelivery(
        platform=PLATFORM,
        shop_domain=shop_domain,
        topic=topic,
        webhook_id=webhook_id,
        event_id=headers.get("event-id"),
        api_version=headers.get("api-version"),
        triggered_at=parse_timestamp(headers.get("triggered-at")),
        headers={f"x-shopify-{k}": v for k, v in headers.items() if k != HMAC_HEADER},
        body=text,
    )


def parse_timestamp(value: str | None) -> datetime | None:
    """ISO-8601 to aware UTC; a malformed stamp is dropped rather than losing the delivery."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        log.warning("webhooks.shopify.bad_triggered_at")
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
