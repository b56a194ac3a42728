"""The simulated file storage: staged uploads come in, bulk operation results go out."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
from typing import Any

from flask import Blueprint, Response, request

from plugin.platforms.shopify.simulator.oauth_views import sim
from plugin.platforms.shopify.simulator.signing import staged_upload_signature
from plugin.platforms.shopify.simulator.state import RecordedRequest, SimulatorState

blueprint = Blueprint("uploads", __name__)


@blueprint.post("/staged-uploads")
def upload_form() -> Any:
    """A form POST like Shopify's storage takes: the target's parameters, then `file`."""
    state = sim()
    form = request.form.to_dict()
    state.record(RecordedRequest("staged_upload", "", form, dict(request.headers)))
    key = form.get("key", "")
    signature = form.get("x-goog-signature", "")
    upload = request.files.get("file")
    if upload is None:
        return _refuse(400, "InvalidArgument", "the form has no file field")
    if not _signed(state, key, form.get("policy", ""), signature):
        return _refuse(403, "AccessDenied", "the policy or its signature does not match")
    state.store_upload(key, upload.read())
    if form.get("success_action_status") == "201":
        body = f"<PostResponse><Key>{key}</Key></PostResponse>"
        return Response(body, status=201, mimetype="application/xml")
    return Response(status=204)


@blueprint.put("/staged-uploads/<path:key>")
def upload_put(key: str) -> Any:
    """A signed PUT of the raw file (targets created with httpMethod PUT)."""
    state = sim()
    args = request.args.to_dict()
    state.record(RecordedRequest("staged_upload", "", args, dict(request.headers)))
    if not _signed(state, key, args.get("policy", ""), args.get("signature", "")):
        return _refuse(403, "AccessDenied", "the policy or its signature does not match")
    state.store_upload(key, request.get_data())
    return Response(status=200)


@blueprint.get("/bulk-results/<int:op_id>.jsonl")
def bulk_result(op_id: int) -> Any:
    op = sim().bulk_operation(op_id)
    if op is None or op.result is None:
        return _refuse(404, "NoSuchKey", "no such result file")
    return Response(op.result, mimetype="application/jsonl")


def _signed(state: SimulatorState, key: str, policy: str, signature: str) -> bool:
    expected = staged_upload_signature(state.api_secret, policy)
    if not policy or not hmac.compare_digest(expected, signature):
        return False
    try:
        terms = json.loads(base64.b64decode(policy))
    except (binascii.Error, ValueError):
        return False
    return bool(terms.get("key") == key and terms.get("expiration", 0) > time.time())


def _refuse(status: int, code: str, message: str) -> Response:
    body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return Response(body, status=status, mimetype="application/xml")
