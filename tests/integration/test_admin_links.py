"""Standalone sign-in: `shopseg admin-link` prints a one-time, short-lived signed URL whose
first use starts an HttpOnly, SameSite=Lax cookie session for that shop only."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import update

from admin_ui import cookie_is_secure
from plugin.cli import main
from plugin.commands import admin as admin_commands
from plugin.db import utcnow
from plugin.errors import AuthenticationError
from plugin.runtime import Runtime, build_runtime
from plugin.settings import Settings
from plugin.shops.admin_links import LINK_TTL, issue_admin_link, redeem_admin_link
from plugin.shops.models import UNINSTALLED, Shop
from tests.support.profiles import make_shop


@pytest.fixture
def shop_id(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return make_shop(session, "links.myshopify.com").id


def issue(runtime: Runtime, shop_id: int, now=None) -> str:  # type: ignore[no-untyped-def]
    with runtime.sessions.begin() as session:
        return issue_admin_link(session, shop_id, runtime.settings.secret_key, now or utcnow())


def redeem(runtime: Runtime, token: str, now=None) -> int:  # type: ignore[no-untyped-def]
    with runtime.sessions.begin() as session:
        key = runtime.settings.secret_key
        return redeem_admin_link(session, token, key, now or utcnow()).id


def test_the_cli_prints_a_link_that_signs_in_once(
    runtime: Runtime, settings: Settings, shop_id: int, admin_client: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(admin_commands, "load_runtime", lambda **_: build_runtime(settings))
    result = CliRunner().invoke(main, ["admin-link", "links.myshopify.com"])
    assert result.exit_code == 0, result.output
    url = urlsplit(result.output.splitlines()[0])
    assert f"{url.scheme}://{url.netloc}" == settings.app_url and url.path == "/admin/login"
    first = admin_client.get(url.path + "?" + url.query)
    assert first.status_code == 302 and urlsplit(first.headers["Location"]).path == "/admin"
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # the app URL is http on loopback
    assert admin_client.get("/admin").status_code == 200
    with FlaskClient(admin_client.application) as other:
        again = other.get(url.path + "?" + url.query)
        assert again.status_code == 401 and "already used" in again.get_data(as_text=True)


def test_an_unknown_shop_gets_a_message_not_a_link(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_commands, "load_runtime", lambda **_: build_runtime(settings))
    result = CliRunner().invoke(main, ["admin-link", "nobody.myshopify.com"])
    assert result.exit_code == 1 and "unknown shop" in result.output


def test_an_expired_link_is_refused(runtime: Runtime, shop_id: int) -> None:
    token = issue(runtime, shop_id)
    with pytest.raises(AuthenticationError, match="expired"):
        redeem(runtime, token, utcnow() + LINK_TTL + timedelta(seconds=1))
    assert redeem(runtime, token) == shop_id  # still unused


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # the MAC
        lambda t: "9" + t,  # another shop id under the same MAC
        lambda t: ".".join([*t.split(".")[:2], "9999999999", *t.split(".")[3:]]),  # expiry
        lambda t: "not-a-token",
    ],
    ids=["mac", "shop", "expiry", "garbage"],
)
def test_a_forged_link_is_refused(runtime: Runtime, shop_id: int, tamper) -> None:  # type: ignore[no-untyped-def]
    token = issue(runtime, shop_id)
    with pytest.raises(AuthenticationError):
        redeem(runtime, tamper(token))


def test_several_pending_links_each_work_once(runtime: Runtime, shop_id: int) -> None:
    first, second = issue(runtime, shop_id), issue(runtime, shop_id)
    assert redeem(runtime, second) == shop_id and redeem(runtime, first) == shop_id
    for token in (first, second):
        with pytest.raises(AuthenticationError, match="already used"):
            redeem(runtime, token)


def test_a_session_ends_when_its_shop_is_uninstalled(
    runtime: Runtime, shop_id: int, admin_client: FlaskClient
) -> None:
    token = issue(runtime, shop_id)
    assert admin_client.get("/admin/login", query_string={"token": token}).status_code == 302
    with runtime.sessions.begin() as session:
        session.execute(update(Shop).values(install_state=UNINSTALLED))
    assert admin_client.get("/admin").status_code == 401


@pytest.mark.parametrize(
    ("app_url", "secure"),
    [
        ("http://127.0.0.1:8000", False),
        ("http://localhost:8000", False),
        ("http://[::1]:8000", False),
        ("http://192.168.1.5:8000", True),
        ("https://segments.example.com", True),
        ("http://segments.example.com", True),
    ],
)
def test_cookies_are_secure_unless_plain_http_on_loopback(app_url: str, secure: bool) -> None:
    assert cookie_is_secure(app_url) is secure
