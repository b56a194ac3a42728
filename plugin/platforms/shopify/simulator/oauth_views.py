"""The simulated shops' OAuth: authorize (merchant approval), access_token grants, app opening."""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
from flask import Blueprint, Response, current_app, jsonify, redirect, request

from plugin.platforms.shopify.simulator.signing import host_param, mint_session_token, sign_query
from plugin.platforms.shopify.simulator.state import (
    REFRESH_TOKEN_TTL,
    IssuedToken,
    RecordedRequest,
    SimulatorState,
)

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"

blueprint = Blueprint("oauth", __name__)


def sim() -> SimulatorState:
    state: SimulatorState = current_app.config["SIMULATOR_STATE"]
    return state


def _error(status: int, error: str, description: str) -> tuple[Response, int]:
    return jsonify({"error": error, "error_description": description}), status


@blueprint.get("/<shop>/admin/oauth/authorize")
def authorize(shop: str) -> Any:
    """The merchant approves at once: back to redirect_uri with a code and a signed query."""
    state = sim()
    args = request.args.to_dict()
    record = state.record(RecordedRequest("authorize", shop, args, dict(request.headers)))
    if args.get("client_id") != state.api_key or not args.get("redirect_uri"):
        record.status = 400
        return _error(400, "invalid_request", "unknown client_id or missing redirect_uri")
    state.shop(shop)
    scopes = state.switches.granted_scopes or [s for s in args.get("scope", "").split(",") if s]
    params = {
        "code": state.issue_code(shop, scopes),
        "host": host_param(shop),
        "shop": shop,
        "state": args.get("state", ""),
        "timestamp": str(int(time.time())),
    }
    record.status = 302
    return redirect(f"{args['redirect_uri']}?{urlencode(sign_query(params, state.api_secret))}")


@blueprint.get("/<shop>/admin/apps/<api_key>")
def open_app(shop: str, api_key: str) -> Any:
    """The merchant opens the app in the admin: the app URL loads with an id_token."""
    state = sim()
    state.record(RecordedRequest("admin_app", shop, request.args.to_dict(), {}))
    if api_key != state.api_key or not state.application_url:
        return _error(404, "not_found", "no such app (or no application_url configured)")
    params = {
        "embedded": "1",
        "host": host_param(shop),
        "id_token": mint_session_token(shop, state.api_key, state.api_secret),
        "locale": "en",
        "session": secrets.token_hex(16),
        "shop": shop,
        "timestamp": str(int(time.time())),
    }
    return redirect(f"{state.application_url}?{urlencode(sign_query(params, state.api_secret))}")


@blueprint.post("/<shop>/admin/oauth/access_token")
def access_token(shop: str) -> Any:
    state = sim()
    body = request.get_json(silent=True) or request.form.to_dict()
    record = state.record(RecordedRequest("access_token", shop, body, dict(request.headers)))
    response, status = _grant(state, shop, body)
    record.status = status
    return response, status


def _grant(state: SimulatorState, shop: str, body: dict[str, Any]) -> tuple[Response, int]:
    if state.switches.oauth_status:
        return _error(state.switches.oauth_status, "server_error", "simulated failure")
    if body.get("client_id") != state.api_key or body.get("client_secret") != state.api_secret:
        return _error(401, "invalid_client", "client authentication failed")
    expiring = str(body.get("expiring", "0")) == "1"
    grant_type = body.get("grant_type")
    if grant_type == "refresh_token":
        return _refresh(state, shop, str(body.get("refresh_token", "")))
    if grant_type == TOKEN_EXCHANGE:
        return _token_exchange(state, shop, body, expiring)
    scopes = state.take_code(shop, str(body.get("code", "")))
    if scopes is None:
        return _error(400, "invalid_request", "the authorization code was not found or was used")
    return _token_response(state.issue_token(shop, scopes, "code", expiring=expiring)), 200


def _refresh(state: SimulatorState, shop: str, refresh_token: str) -> tuple[Response, int]:
    if state.switches.refresh_delay:
        time.sleep(state.switches.refresh_delay)
    token = None if state.switches.fail_refresh else state.rotate(shop, refresh_token)
    if token is None:
        return _error(400, "invalid_grant", "the refresh token is invalid, expired or revoked")
    return _token_response(token), 200


def _token_exchange(
    state: SimulatorState, shop: str, body: dict[str, Any], expiring: bool
) -> tuple[Response, int]:
    if body.get("subject_token_type") != ID_TOKEN_TYPE or (
        body.get("requested_token_type") != OFFLINE_TOKEN_TYPE
    ):
        return _error(400, "invalid_request", "unsupported token types")
    try:
        claims = jwt.decode(
            str(body.get("subject_token", "")),
            state.api_secret,
            algorithms=["HS256"],
            audience=state.api_key,
            leeway=10,
        )
    except jwt.PyJWTError as exc:
        return _error(400, "invalid_subject_token", str(exc))
    if urlsplit(str(claims.get("dest", ""))).hostname != shop:
        return _error(400, "invalid_subject_token", "the session token is for another shop")
    state.shop(shop)
    scopes = state.switches.granted_scopes or state.app_scopes
    return _token_response(
        state.issue_token(shop, scopes, "token_exchange", expiring=expiring)
    ), 200


def collapse_scopes(scopes: list[str]) -> str:
    """As Shopify reports them: a read scope implied by its write scope is left out."""
    kept = [s for s in scopes if not (s.startswith("read_") and "write_" + s[5:] in scopes)]
    return ",".join(kept)


def _token_response(token: IssuedToken) -> Response:
    data: dict[str, Any] = {
        "access_token": token.access_token,
        "scope": collapse_scopes(token.scopes),
    }
    if token.expires_at is not None:
        data["expires_in"] = round(token.expires_at - time.time())
        data["refresh_token"] = token.refresh_token
        data["refresh_token_expires_in"] = REFRESH_TOKEN_TTL
    return jsonify(data)
