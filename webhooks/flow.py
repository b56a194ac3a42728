"""`POST /flow/lifecycle`: Shopify Flow's trigger lifecycle callback (a workflow using one of
the app's triggers was enabled or disabled), verified like a webhook and answered at once."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from plugin.errors import AuthenticationError
from plugin.errors import ValidationError as InputError
from plugin.platforms.shopify.webhook_signature import webhook_hmac
from plugin.runtime import Runtime
from plugin.shops.models import Shop
from plugin.triggers.flow_usage import record_usage
from webhooks.shopify import read_body

MAX_BODY = 16 * 1024  # five short fields
HMAC_HEADER = "X-Shopify-Hmac-Sha256"

blueprint = Blueprint("flow", __name__, url_prefix="/flow")
log = logging.getLogger(__name__)


class LifecycleSchema(Schema):
    flow_trigger_definition_id = fields.String(
        required=True, validate=validate.Length(min=1, max=255)
    )
    has_enabled_flow = fields.Boolean(required=True, truthy={True}, falsy={False})
    shop_id = fields.Raw(required=False, allow_none=True)  # a number, or a string in examples
    shopify_domain = fields.String(required=True, validate=validate.Length(min=1, max=255))
    timestamp = fields.AwareDateTime(required=True)


@blueprint.post("/lifecycle")
def lifecycle() -> tuple[Response, int]:
    """HMAC of the raw body with the app's client secret, then the usage is stored; an
    unknown shop is answered 200 too (Flow only needs to hear the app is there)."""
    given = request.headers.get(HMAC_HEADER, "")
    if not given:
        raise AuthenticationError(f"{HMAC_HEADER} is missing")
    body = read_body(MAX_BODY)
    runtime: Runtime = current_app.extensions["shopseg"]
    secrets = [s for s in runtime.settings.api_secrets if s]
    if not secrets:
        raise AuthenticationError("the app's client secret is not configured")
    checks = [hmac.compare_digest(webhook_hmac(s, body).encode(), given.encode()) for s in secrets]
    if not any(checks):
        log.warning("flow.lifecycle.hmac_invalid")
        raise AuthenticationError(f"{HMAC_HEADER} does not match the body")
    data = _parse(body)
    with runtime.sessions.begin() as session:
        shop_id = session.scalar(select(Shop.id).where(Shop.domain == data["shopify_domain"]))
        kept = shop_id is not None and record_usage(
            session,
            shop_id,
            data["flow_trigger_definition_id"],
            data["has_enabled_flow"],
            data["timestamp"],
        )
    log.info(
        "flow.lifecycle shop=%s trigger=%s enabled=%s kept=%s",
        data["shopify_domain"],
        data["flow_trigger_definition_id"],
        data["has_enabled_flow"],
        kept,
    )
    return jsonify({"status": "stored" if kept else "ignored"}), 200


def _parse(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
        parsed: dict[str, Any] = LifecycleSchema().load(document)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"the body is not JSON: {type(exc).__name__}") from exc
    except ValidationError as exc:
        raise InputError(f"the callback does not fit Flow's shape: {exc.messages}") from exc
    return parsed
