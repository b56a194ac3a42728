"""`POST /webhooks/shopify`: header checks, HMAC verification and the durable inbox insert.

The receiver is plain WSGI in front of the Flask app (installed when the blueprint is
registered): under load a Flask request context, its header objects and `jsonify` cost
more than verifying and storing the delivery. It answers exactly as the app's error
handlers would: 200 `{status}`, or a 4xx `{error, detail}`.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any, cast

from flask import Blueprint, Flask, request
from flask.sansio.blueprints import BlueprintSetupState
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wsgi import get_input_stream

from plugin.app import MAX_WEBHOOK_BYTES
from plugin.errors import AuthenticationError, ShopSegError
from plugin.inbox.payloads import body_text
from plugin.inbox.receipt import (
    IncomingDelivery,
    SigningKeyCache,
    delivery_values,
    insert_delivery,
    read_signing_keys,
    store_delivery,
)
from plugin.platforms.shopify.webhook_signature import webhook_hmac
from plugin.runtime import Runtime
from webhooks.shopify_headers import HMAC_HEADER, DeliveryHeaders, check_headers, environ_headers

PLATFORM = "shopify"
PATH = "/webhooks/shopify"
READ_CHUNK = 64 * 1024
STORE_FAILED = {
    "error": "internal_error",
    "detail": "the delivery could not be stored; send it again",
}

blueprint = Blueprint("webhooks", __name__, url_prefix="/webhooks")
log = logging.getLogger(__name__)

StartResponse = Any  # wsgiref.types.StartResponse, which is not importable at run time


class ShopifyReceiver:
    """WSGI middleware: answers `POST /webhooks/shopify` itself, passes the rest on."""

    def __init__(self, app: Any, flask_app: Flask) -> None:
        self.app = app
        self.flask_app = flask_app
        self.signing_keys = SigningKeyCache()  # one per app: per process and database

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH:
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        if environ.get("REQUEST_METHOD") != "POST":
            error = {"error": "method_not_allowed", "detail": "use POST"}
            return _answer(start_response, 405, error, [("Allow", "POST")])
        try:
            status = self.receive(environ)
        except ShopSegError as exc:
            if exc.status >= 500:
                log.error("webhooks.shopify.error %s: %s", exc.code, exc.detail)
            return _answer(start_response, exc.status, {"error": exc.code, "detail": exc.detail})
        except HTTPException as exc:
            code = (exc.name or "error").lower().replace(" ", "_")
            return _answer(
                start_response, exc.code or 400, {"error": code, "detail": exc.description}
            )
        except Exception:  # the database failed: a 5xx, so that Shopify delivers it again
            log.exception("webhooks.shopify.store_failed")
            return _answer(start_response, 500, STORE_FAILED)
        return _answer(start_response, 200, {"status": status})

    def receive(self, environ: dict[str, Any]) -> str:
        """Check headers → verify → one insert. The worker parses the body later."""
        headers = environ_headers(environ)
        if not headers.get(HMAC_HEADER):
            log.warning("webhooks.shopify.hmac_missing")
            raise AuthenticationError("X-Shopify-Hmac-Sha256 is missing")
        checked = check_headers(headers)
        body = read_environ_body(environ, MAX_WEBHOOK_BYTES)  # raw bytes: the HMAC covers these
        runtime: Runtime = self.flask_app.extensions["shopseg"]
        given = headers[HMAC_HEADER]
        new = self._store_fast(runtime, checked, body, given)
        if new is None:
            new = self._store_exact(runtime, checked, body, given)
        status = "stored" if new else "duplicate"
        # Debug only: the inbox row is the record of receipt, and at full rate an INFO line
        # (through the log redaction) cost a tenth of the request.
        log.debug(
            "webhooks.shopify.%s shop=%s topic=%s", status, checked.shop_domain, checked.topic
        )
        return status

    def _store_fast(
        self, runtime: Runtime, checked: DeliveryHeaders, body: bytes, given: str
    ) -> bool | None:
        """With the shop's secret from this process's cache: True when stored, None when
        nothing was (nothing cached, no match, a changed secret, or a duplicate)."""
        domain = checked.shop_domain
        keys = self.signing_keys.get(PLATFORM, domain)
        if keys is None or not _matches(body, given, keys.secrets(runtime.settings)):
            return None
        if store_delivery(runtime.engine, delivery_values(_incoming(checked, body), keys.stored)):
            return True
        self.signing_keys.forget(PLATFORM, domain)  # changed, or a duplicate: read it again
        return None

    def _store_exact(
        self, runtime: Runtime, checked: DeliveryHeaders, body: bytes, given: str
    ) -> bool:
        """The shop's secret as stored now (then cached), verified, and the insert."""
        domain = checked.shop_domain
        with runtime.engine.begin() as conn:
            keys = read_signing_keys(conn, runtime.settings, PLATFORM, domain)
            _verify(body, given, keys.secrets(runtime.settings), domain)
            new = insert_delivery(conn, delivery_values(_incoming(checked, body)))
        self.signing_keys.put(PLATFORM, domain, keys)
        return new


@blueprint.record_once
def _install(state: BlueprintSetupState) -> None:
    app = cast(Flask, state.app)
    app.wsgi_app = ShopifyReceiver(app.wsgi_app, app)  # type: ignore[method-assign]


def _answer(
    start_response: StartResponse,
    status: int,
    document: Mapping[str, str | None],
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    body = json.dumps(document, separators=(",", ":")).encode() + b"\n"
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(f"{status} {HTTPStatus(status).phrase}", headers + (extra or []))
    return [body]


def read_body(limit: int) -> bytes:
    """The current Flask request's body, as `read_environ_body` reads it."""
    return read_environ_body(request.environ, limit)


def read_environ_body(environ: dict[str, Any], limit: int) -> bytes:
    """The body, reading at most `limit` + 1 bytes: one byte over is a 413.

    Werkzeug caps a chunked body (no Content-Length) at the limit by truncating it silently,
    which then failed the HMAC as a 401; reading one byte more tells the two apart.
    """
    declared = environ.get("CONTENT_LENGTH", "")
    if declared.isdigit() and int(declared) <= limit:  # the usual case: one read
        return bytes(environ["wsgi.input"].read(int(declared)))
    stream = get_input_stream(environ, max_content_length=limit + 1)  # a declared length too
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
