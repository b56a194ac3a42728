"""`POST /webhooks/shopify`: header checks, HMAC verification and the durable inbox insert."""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from plugin.app import MAX_WEBHOOK_BYTES
from plugin.errors import AuthenticationError
from plugin.inbox.payloads import body_text
from plugin.inbox.receipt import (
    IncomingDelivery,
    SigningKeyCache,
    delivery_values,
    insert_delivery,
    read_signing_keys,
)
from plugin.platforms.shopify.webhook_signature import webhook_hmac
from plugin.runtime import Runtime
from webhooks.shopify_headers import HMAC_HEADER, DeliveryHeaders, check_headers, shopify_headers

PLATFORM = "shopify"
READ_CHUNK = 64 * 1024
SIGNING_KEYS = "shopseg.webhook_signing_keys"  # the app extension holding the cache

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
    incoming = _incoming(checked, body)
    new = _store_fast(runtime, incoming, body, headers[HMAC_HEADER])
    if new is None:
        new = _store_exact(runtime, incoming, body, headers[HMAC_HEADER])
    status = "stored" if new else "duplicate"
    log.info("webhooks.shopify.%s shop=%s topic=%s", status, checked.shop_domain, checked.topic)
    return jsonify({"status": status}), 200


def _store_fast(
    runtime: Runtime, incoming: IncomingDelivery, body: bytes, given: str
) -> bool | None:
    """With the shop's secrets from this process's cache: True when stored, None when
    nothing was (no cached secrets, no match, a changed secret, or a duplicate)."""
    cache = _signing_keys()
    keys = cache.get(PLATFORM, incoming.shop_domain)
    if keys is None or not _matches(body, given, keys.secrets):
        return None
    with runtime.engine.begin() as conn:
        if insert_delivery(conn, delivery_values(incoming, guard=keys.stored)):
            return True
    cache.forget(PLATFORM, incoming.shop_domain)  # changed, or a duplicate: read them again
    return None


def _store_exact(runtime: Runtime, incoming: IncomingDelivery, body: bytes, given: str) -> bool:
    """The shop's secrets as stored now (then cached), verified, and the insert."""
    with runtime.engine.begin() as conn:
        keys = read_signing_keys(conn, runtime.settings, PLATFORM, incoming.shop_domain)
        _verify(body, given, keys.secrets, incoming.shop_domain)
        new = insert_delivery(conn, delivery_values(incoming))
    _signing_keys().put(PLATFORM, incoming.shop_domain, keys)
    return new


def _signing_keys() -> SigningKeyCache:
    """This app's cache (one per app, so per process and per database)."""
    cache = current_app.extensions.get(SIGNING_KEYS)
    if cache is None:
        cache = current_app.extensions.setdefault(SIGNING_KEYS, SigningKeyCache())
    return cache  # type: ignore[no-any-return]


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


def _verify(body: bytes, given: str, secrets: tuple[str, ...], shop_domain: str) -> None:
    if not secrets:
        log.error("webhooks.shopify.no_secret shop=%s", shop_domain)
        raise AuthenticationError("no webhook secret is configured for this shop")
    if not _matches(body, given, secrets):
        log.warning("webhooks.shopify.hmac_invalid shop=%s", shop_domain)
        raise AuthenticationError("X-Shopify-Hmac-Sha256 does not match the body")


def _matches(body: bytes, given: str, secrets: tuple[str, ...]) -> bool:
    # Compare against every candidate so timing does not reveal which secret matched.
    expected = given.encode()
    matches = [hmac.compare_digest(webhook_hmac(s, body).encode(), expected) for s in secrets]
    return any(matches)


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
