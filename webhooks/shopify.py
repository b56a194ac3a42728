"""`POST /webhooks/shopify`: header checks, HMAC verification and the durable inbox insert."""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from plugin.app import MAX_WEBHOOK_BYTES
from plugin.errors import AuthenticationError
from plugin.inbox.payloads import body_text
from plugin.inbox.services import IncomingDelivery, record_delivery, webhook_secrets
from plugin.platforms.shopify.webhook_signature import webhook_hmac
from plugin.runtime import Runtime
from webhooks.shopify_headers import HMAC_HEADER, DeliveryHeaders, check_headers, shopify_headers

PLATFORM = "shopify"
READ_CHUNK = 64 * 1024

blueprint = Blueprint("webhooks", __name__, url_prefix="/webhooks")
log = logging.getLogger(__name__)


@blueprint.post("/shopify")
def receive() -> tuple[Response, int]:
    """Check headers → verify → one insert → 200. The worker parses the body later."""
    headers = shopify_headers(request.headers.items())
    if not headers.get(HMAC_HEADER):
        log.warning("webhooks.shopify.hmac_missing")
        raise AuthenticationError("X-Shopify-Hmac-Sha256 is missing")
    checked = check_headers(headers)
    body = read_body(MAX_WEBHOOK_BYTES)  # raw bytes: the HMAC covers exactly these
    runtime: Runtime = current_app.extensions["shopseg"]
    with runtime.sessions() as session:
        secrets = webhook_secrets(session, runtime.settings, PLATFORM, checked.shop_domain)
        _verify(body, headers[HMAC_HEADER], secrets, checked.shop_domain)
        new = record_delivery(session, _incoming(checked, body))
    status = "stored" if new else "duplicate"
    log.info("webhooks.shopify.%s shop=%s topic=%s", status, checked.shop_domain, checked.topic)
    return jsonify({"status": status}), 200


def read_body(limit: int) -> bytes:
    """The body, reading at most `limit` + 1 bytes: one byte over is a 413.

    Werkzeug caps a chunked body (no Content-Length) at the limit by truncating it silently,
    which then failed the HMAC as a 401; reading one byte more tells the two apart.
    """
    request.max_content_length = limit + 1  # a declared Content-Length over it is a 413 too
    stream = request.stream
    chunks: list[bytes] = []
    size = 0
    while size <= limit and (chunk := stream.read(min(READ_CHUNK, limit + 1 - size))):
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise RequestEntityTooLarge(f"a webhook body may hold at most {limit} bytes")
    return b"".join(chunks)


def _verify(body: bytes, given: str, secrets: list[str], shop_domain: str) -> None:
    if not secrets:
        log.error("webhooks.shopify.no_secret shop=%s", shop_domain)
        raise AuthenticationError("no webhook secret is configured for this shop")
    # Compare against every candidate so timing does not reveal which secret matched.
    matches = [hmac.compare_digest(webhook_hmac(s, body).encode(), given.encode()) for s in secrets]
    if not any(matches):
        log.warning("webhooks.shopify.hmac_invalid shop=%s", shop_domain)
        raise AuthenticationError("X-Shopify-Hmac-Sha256 does not match the body")


def _incoming(checked: DeliveryHeaders, body: bytes) -> IncomingDelivery:
    text, unstorable = body_text(body)
    if unstorable:
        log.warning("webhooks.shopify.unstorable_body shop=%s", checked.shop_domain)
    return IncomingDelivery(
        platform=PLATFORM,
        shop_domain=checked.shop_domain,
        topic=checked.topic,
        webhook_id=checked.webhook_id,
        event_id=checked.event_id,
        api_version=checked.api_version,
        triggered_at=checked.triggered_at,
        headers=checked.copied,
        body=text,
        unstorable=unstorable,
    )
