"""Session tokens: only HS256 tokens for this app, this shop and this minute are accepted."""

from __future__ import annotations

import time
from dataclasses import replace

import jwt
import pytest

from plugin.errors import AuthenticationError
from plugin.platforms.shopify.session_token import verify_session_token
from plugin.platforms.shopify.simulator import mint_session_token
from plugin.settings import Settings

KEY = "app-key"
SECRET = "shpss_" + "5ec7e7" * 6
SHOP = "my-shop.myshopify.com"
SETTINGS = Settings(shopify_api_key=KEY, shopify_api_secret=SECRET)


def mint(secret: str = SECRET, **claims: object) -> str:
    return mint_session_token(SHOP, KEY, secret, **claims)


def test_valid_token_names_the_shop_from_dest() -> None:
    token = verify_session_token(mint(sub="77"), SETTINGS)
    assert (token.shop, token.user_id) == (SHOP, "77")


@pytest.mark.parametrize(
    ("why", "token"),
    [
        ("wrong aud", lambda: mint(aud="another-app")),
        ("expired", lambda: mint(now=time.time() - 120)),
        ("other secret", lambda: mint(secret="shpss_" + "0th3r" * 7)),
        ("not yet valid", lambda: mint(nbf=int(time.time()) + 60)),
        ("iss of another shop", lambda: mint(iss="https://other.myshopify.com/admin")),
        ("dest not a shop", lambda: mint(dest="https://evil.com", iss="https://evil.com/admin")),
        ("no dest", lambda: mint(dest=None)),
        ("garbage", lambda: "not-a-jwt"),
    ],
)
def test_bad_tokens_are_rejected(why: str, token) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AuthenticationError):
        verify_session_token(token(), SETTINGS)


def test_missing_required_claim_is_rejected() -> None:
    now = int(time.time())
    claims = {"iss": f"https://{SHOP}/admin", "aud": KEY, "exp": now + 60, "nbf": now, "iat": now}
    with pytest.raises(AuthenticationError, match="dest"):
        verify_session_token(jwt.encode(claims, SECRET, algorithm="HS256"), SETTINGS)


def test_other_algorithms_are_rejected() -> None:
    now = int(time.time())
    claims = {
        "iss": f"https://{SHOP}/admin",
        "dest": f"https://{SHOP}",
        "aud": KEY,
        "exp": now + 60,
        "nbf": now,
        "iat": now,
    }
    token = jwt.encode(claims, SECRET * 3, algorithm="HS512")
    with pytest.raises(AuthenticationError):
        verify_session_token(token, SETTINGS)


def test_ten_seconds_of_clock_skew_are_tolerated() -> None:
    # Expired 5 s ago (ttl 60, issued 65 s ago): inside the 10 s leeway.
    assert verify_session_token(mint(now=time.time() - 65), SETTINGS).shop == SHOP
    with pytest.raises(AuthenticationError):
        verify_session_token(mint(now=time.time() - 75), SETTINGS)


def test_previous_secret_is_accepted_during_rotation() -> None:
    rotated = replace(
        SETTINGS, shopify_api_secret="shpss_" + "n3w" * 11, shopify_api_secret_previous=SECRET
    )
    assert verify_session_token(mint(), rotated).shop == SHOP
