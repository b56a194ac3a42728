"""The OAuth query HMAC agrees with Shopify's own Python library; bad queries are refused."""

from __future__ import annotations

import base64
import time

import pytest
import shopify
from hypothesis import given
from hypothesis import strategies as st

from plugin.errors import AuthenticationError, ValidationError
from plugin.platforms.shopify.oauth import (
    collect_query,
    missing_scopes,
    query_hmac,
    validate_shop_domain,
    verify_query,
)
from plugin.platforms.shopify.simulator import query_hmac as simulator_hmac

SECRET = "hush"
PREVIOUS = "old-secret"


def oracle_hmac(params: dict[str, object], secret: str) -> str:
    """`shopify.Session.calculate_hmac`, set up with `secret` as that library requires."""
    shopify.Session.setup(api_key="key", secret=secret)
    return str(shopify.Session.calculate_hmac(params))


# Values full of what breaks a re-encoding recipe: `=`, `/`, `:`, `+`, `&`, `%`, spaces, unicode.
tricky_text = st.text(
    alphabet=st.sampled_from([*list("=/:+&% ?#;,~*'\""), "é", "ü", "日", "😀", "a", "Z", "0"])
    | st.characters(codec="utf-8", exclude_categories=("Cs",)),
    max_size=24,
)
padded_host = st.binary(min_size=1, max_size=40).map(lambda b: base64.b64encode(b).decode())
# Keys of [a-z_] sort the same whether a library sorts by key or by `key=value` text.
extra_keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10).filter(
    lambda k: k not in ("hmac", "signature")
)


@given(
    fields=st.fixed_dictionaries(
        {"code": tricky_text, "shop": tricky_text, "state": tricky_text, "timestamp": tricky_text},
    ),
    host=padded_host,
    extra=st.dictionaries(extra_keys, tricky_text, max_size=4),
)
def test_query_hmac_agrees_with_shopify_python_library(
    fields: dict[str, str], host: str, extra: dict[str, str]
) -> None:
    params = {**extra, **fields, "host": host}
    expected = oracle_hmac(dict(params), SECRET)
    assert query_hmac(params, SECRET) == expected
    assert simulator_hmac(params, SECRET) == expected


def test_list_parameters_are_signed_like_shopify_python_library() -> None:
    params = collect_query([("ids[]", "1"), ("ids[]", "22"), ("shop", "a.myshopify.com")])
    assert params["ids[]"] == ["1", "22"]
    assert query_hmac(params, SECRET) == oracle_hmac(dict(params), SECRET)


def test_published_vectors() -> None:
    params = {
        "code": "0907a61c0c8d55e99db179b68161bc00",
        "shop": "some-shop.myshopify.com",
        "timestamp": "1337178173",
    }
    assert query_hmac(params, SECRET) == (
        "4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20"
    )
    with_state = {**params, "state": "0.6784241404160823"}
    assert query_hmac(with_state, SECRET) == (
        "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"
    )


def test_hmac_and_signature_parameters_are_not_signed() -> None:
    params = {"shop": "a.myshopify.com", "timestamp": "1"}
    assert query_hmac({**params, "hmac": "x", "signature": "y"}, SECRET) == query_hmac(
        params, SECRET
    )


def signed(secret: str = SECRET, age: int = 0, **extra: str) -> dict[str, str]:
    params = {
        "code": "abc",
        "host": base64.b64encode(b"admin.shopify.com/store/a").decode(),
        "shop": "a.myshopify.com",
        "state": "n0nce+/=",
        "timestamp": str(int(time.time()) - age),
        **extra,
    }
    return {**params, "hmac": query_hmac(params, secret)}


def test_fresh_signed_query_verifies() -> None:
    verify_query(signed(), [SECRET], now=time.time())


def test_query_signed_with_previous_secret_verifies_during_rotation() -> None:
    verify_query(signed(PREVIOUS), [SECRET, PREVIOUS], now=time.time())
    with pytest.raises(AuthenticationError):
        verify_query(signed(PREVIOUS), [SECRET], now=time.time())


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: {**p, "hmac": "0" * 64},
        lambda p: {**p, "hmac": p["hmac"].upper()},
        lambda p: {**p, "shop": "b.myshopify.com"},
        lambda p: {**p, "extra": "1"},
        lambda p: {k: v for k, v in p.items() if k != "hmac"},
    ],
    ids=["wrong-hmac", "uppercase-hmac", "changed-shop", "added-param", "no-hmac"],
)
def test_tampered_query_is_rejected(tamper) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AuthenticationError):
        verify_query(tamper(signed()), [SECRET], now=time.time())


def test_timestamp_older_than_90_seconds_is_rejected() -> None:
    now = time.time()
    verify_query(signed(age=89), [SECRET], now=now)
    with pytest.raises(AuthenticationError, match="timestamp"):
        verify_query(signed(age=91), [SECRET], now=now)
    with pytest.raises(AuthenticationError, match="timestamp"):
        verify_query(signed(age=-91), [SECRET], now=now)


@pytest.mark.parametrize(
    "shop",
    [
        "evil.com",
        "x.myshopify.com.evil.com",
        "x.myshopify.com\n",
        "-x.myshopify.com",
        "x.myshopify.com/",
        "x_y.myshopify.com",
        "myshopify.com",
        "https://x.myshopify.com",
        "",
    ],
)
def test_non_shop_domains_are_rejected(shop: str) -> None:
    with pytest.raises(ValidationError):
        validate_shop_domain(shop)


def test_shop_domains_are_accepted_and_lower_cased() -> None:
    assert validate_shop_domain("My-Shop-1.myshopify.com") == "my-shop-1.myshopify.com"


def test_write_scope_implies_its_read_scope() -> None:
    required = ["read_customers", "write_customers", "read_orders", "read_products"]
    assert missing_scopes(["write_customers", "read_orders"], required) == ["read_products"]
    assert missing_scopes(["read_customers"], ["write_customers"]) == ["write_customers"]
