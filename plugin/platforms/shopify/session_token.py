"""App Bridge session tokens (id_token): HS256 JWTs that authenticate the embedded admin."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt

from plugin.errors import AuthenticationError, ConfigurationError, ValidationError
from plugin.platforms.shopify.oauth import validate_shop_domain
from plugin.settings import Settings

LEEWAY_SECONDS = 10
REQUIRED_CLAIMS = ["exp", "nbf", "iat", "aud", "iss", "dest"]


@dataclass(frozen=True)
class SessionToken:
    """A verified session token: which shop (from `dest`) and which admin user."""

    shop: str
    user_id: str | None
    session_id: str | None
    raw: str


def verify_session_token(token: str, settings: Settings) -> SessionToken:
    """Verify signature (current, then previous secret), audience, lifetime and shop claims."""
    if not settings.api_secrets or not settings.shopify_api_key:
        raise ConfigurationError("SHOPIFY_API_KEY and SHOPIFY_API_SECRET are needed")
    claims = _decode(token, settings)
    dest = urlsplit(str(claims["dest"])).hostname or ""
    if (urlsplit(str(claims["iss"])).hostname or "") != dest:
        raise AuthenticationError("the session token's iss and dest name different shops")
    try:
        shop = validate_shop_domain(dest)
    except ValidationError as exc:
        raise AuthenticationError(exc.detail) from exc
    return SessionToken(
        shop, _str_or_none(claims.get("sub")), _str_or_none(claims.get("sid")), token
    )


def _decode(token: str, settings: Settings) -> dict[str, object]:
    for secret in settings.api_secrets:
        try:
            claims: dict[str, object] = jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                audience=settings.shopify_api_key,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.InvalidSignatureError:
            continue  # maybe signed with the other secret during a rotation
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"invalid session token: {exc}") from exc
        return claims
    raise AuthenticationError("invalid session token: signature does not verify")


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)
