"""Shopify OAuth: shop validation, the query HMAC, the authorize URL and the token grants."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests

from plugin.errors import AuthenticationError, PlatformError, ValidationError
from plugin.settings import Settings

# The shop's name is one DNS label: at most 63 characters.
SHOP_DOMAIN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9-]{0,62}\.myshopify\.com")
HMAC_TOLERANCE_SECONDS = 90
TIMEOUT = (5, 20)  # (connect, read) seconds

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"

QueryValue = str | Sequence[str]


@dataclass(frozen=True)
class TokenGrant:
    """What an access_token grant answered (expiring offline tokens carry a refresh token)."""

    access_token: str
    scopes: tuple[str, ...]
    expires_in: int | None = None
    refresh_token: str | None = None
    refresh_token_expires_in: int | None = None


def validate_shop_domain(shop: str) -> str:
    """The shop's myshopify.com domain, lower-cased; anything else is refused."""
    if not SHOP_DOMAIN.fullmatch(shop or ""):
        shown = shop if len(shop or "") <= 80 else f"{shop[:60]}… ({len(shop)} characters)"
        raise ValidationError(f"not a shop domain (expected <name>.myshopify.com): {shown!r}")
    return shop.lower()


def collect_query(items: Iterable[tuple[str, str]]) -> dict[str, QueryValue]:
    """Query pairs as Shopify signs them: repeated `key[]` parameters become one list."""
    params: dict[str, QueryValue] = {}
    for key, value in items:
        if key.endswith("[]"):
            params[key] = [*params.get(key, []), value]
        else:
            params[key] = value
    return params


def query_hmac(params: Mapping[str, QueryValue], secret: str) -> str:
    """Shopify's OAuth query HMAC, computed over the decoded values.

    Sorted by key, `key=value` joined with `&`; only the delimiters are escaped (`%`, `&`
    in values; `%`, `&`, `=` in keys), as in Shopify's own Python library. List values
    (`ids[]`) are signed as `ids=["1", "2"]`.
    """
    pairs = [_signed_pair(k, v) for k, v in params.items() if k not in ("hmac", "signature")]
    message = "&".join(f"{k}={v}" for k, v in sorted(pairs))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def _signed_pair(key: str, value: QueryValue) -> tuple[str, str]:
    if key.endswith("[]") and not isinstance(value, str):
        key, value = key[:-2], json.dumps([str(v) for v in value])
    text = value if isinstance(value, str) else ",".join(value)
    escaped_key = key.replace("%", "%25").replace("&", "%26").replace("=", "%3D")
    return escaped_key, text.replace("%", "%25").replace("&", "%26")


def verify_query(params: Mapping[str, QueryValue], secrets: Sequence[str], *, now: float) -> None:
    """Raise AuthenticationError unless the query is signed by one of `secrets` and fresh."""
    given = params.get("hmac")
    if not isinstance(given, str) or not given:
        raise AuthenticationError("the request carries no hmac")
    if not any(hmac.compare_digest(query_hmac(params, s), given) for s in secrets if s):
        raise AuthenticationError("the request's hmac does not verify")
    timestamp = params.get("timestamp")
    if not isinstance(timestamp, str) or not timestamp.isdigit():
        raise AuthenticationError("the request carries no valid timestamp")
    if abs(now - int(timestamp)) > HMAC_TOLERANCE_SECONDS:
        raise AuthenticationError("the request's timestamp is too old (or in the future)")


def authorize_url(settings: Settings, shop: str, scopes: Sequence[str], nonce: str) -> str:
    """Where the merchant approves the app (authorization code grant, offline token)."""
    query = urlencode(
        {
            "client_id": settings.shopify_api_key,
            "scope": ",".join(scopes),
            "redirect_uri": settings.app_url + "/auth/callback",
            "state": nonce,
        }
    )
    return f"{settings.shop_base_url(shop)}/admin/oauth/authorize?{query}"


def missing_scopes(granted: Iterable[str], required: Iterable[str]) -> list[str]:
    """Required scopes the grant lacks; Shopify leaves out a read scope its write scope implies."""
    have = set(granted)
    have |= {"read_" + s.removeprefix("write_") for s in have if s.startswith("write_")}
    return [s for s in required if s not in have]


def exchange_code(http: requests.Session, settings: Settings, shop: str, code: str) -> TokenGrant:
    """Authorization code grant: the code from the callback for an expiring offline token."""
    return _grant(http, settings, shop, {"code": code, "expiring": "1"})


def exchange_session_token(
    http: requests.Session, settings: Settings, shop: str, id_token: str
) -> TokenGrant:
    """Token exchange: a verified App Bridge session token for an expiring offline token."""
    body = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": id_token,
        "subject_token_type": ID_TOKEN_TYPE,
        "requested_token_type": OFFLINE_TOKEN_TYPE,
        "expiring": "1",
    }
    return _grant(http, settings, shop, body)


def refresh_access_token(
    http: requests.Session, settings: Settings, shop: str, refresh_token: str
) -> TokenGrant:
    """A new access/refresh pair; the old refresh token stops working once the new one is used."""
    return _grant(
        http, settings, shop, {"grant_type": "refresh_token", "refresh_token": refresh_token}
    )


def _grant(
    http: requests.Session, settings: Settings, shop: str, fields: dict[str, str]
) -> TokenGrant:
    body = {
        "client_id": settings.shopify_api_key,
        "client_secret": settings.shopify_api_secret,
        **fields,
    }
    url = f"{settings.shop_base_url(shop)}/admin/oauth/access_token"
    try:
        response = http.post(
            url, json=body, headers={"Accept": "application/json"}, timeout=TIMEOUT
        )
    except requests.RequestException as exc:
        raise PlatformError(f"{shop}: access_token request failed: {type(exc).__name__}") from exc
    return _parse_grant(shop, response)


def _parse_grant(shop: str, response: requests.Response) -> TokenGrant:
    data = _json(response)
    if response.status_code >= 500 or response.status_code == 429:
        raise PlatformError(
            f"{shop}: access_token answered {response.status_code}",
            status_code=response.status_code,
        )
    if response.status_code != 200 or not data.get("access_token"):
        error = str(data.get("error") or "no access_token")
        if error == "invalid_subject_token":
            raise AuthenticationError("the session token was refused by the shop")
        raise PlatformError(
            f"{shop}: access_token refused ({response.status_code} {error})",
            transient=False,
            status_code=response.status_code,
        )
    return _token_grant(data)


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _token_grant(data: dict[str, Any]) -> TokenGrant:
    scopes = tuple(s.strip() for s in str(data.get("scope") or "").split(",") if s.strip())
    return TokenGrant(
        access_token=str(data["access_token"]),
        scopes=scopes,
        expires_in=_int_or_none(data.get("expires_in")),
        refresh_token=data.get("refresh_token") or None,
        refresh_token_expires_in=_int_or_none(data.get("refresh_token_expires_in")),
    )


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)
