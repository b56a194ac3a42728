"""The log redaction: what it blanks out of messages, arguments and tracebacks, and what not."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from plugin import logs
from plugin.logs import REDACTED, redact, redact_query, redact_target

SESSION_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzaG9wIjoiYSJ9.c2lnbmF0dXJlLWJ5dGVz"


@pytest.fixture
def installed() -> Iterator[None]:
    logs.install(["s3cret-app-key-value", "short"])
    try:
        yield
    finally:
        logs.uninstall()


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("mail ann.lee+shop@example.co.uk now", "ann.lee+shop@example.co.uk"),
        ("query email=ann%40example.com", "ann%40example.com"),
        ("phone +1 (613) 555-0142 called", "613) 555-0142"),
        ("phone +16135550142", "+16135550142"),
        ("call 613-555-0142", "613-555-0142"),
        ("Authorization: Bearer abc.DEF-123_x", "abc.DEF-123_x"),
        (f"token {SESSION_JWT}", SESSION_JWT),
        ("X-Shopify-Access-Token: shpat_0a1b2c3d4e5f", "shpat_0a1b2c3d4e5f"),
        ("secret shpss_00aa11bb and shpua_99zz", "shpss_00aa11bb"),
        ("secret shpss_00aa11bb and shpua_99zz", "shpua_99zz"),
        ("GET /admin?shop=a.myshopify.com&id_token=xyz.abc HTTP/1.1", "xyz.abc"),
        ("callback ?code=4f2a9&hmac=deadbeef&state=n0nce", "4f2a9"),
        ("callback ?code=4f2a9&hmac=deadbeef&state=n0nce", "deadbeef"),
        ("callback ?code=4f2a9&hmac=deadbeef&state=n0nce", "n0nce"),
        ("refresh_token=rt-77 expired", "rt-77"),
        ("postgresql+psycopg://app:hunter22@db/shop", "hunter22"),
        ("{'first_name': 'Ann', 'last_name': 'Lee', 'id': 7}", "Ann"),
        ('{"first_name":"Ann","last_name":"Lee"}', "Lee"),
        ("[parameters: {'email_1': 'x', 'name': 'Zed'}]", "Zed"),
        ("DETAIL:  Key (shop_id, email)=(1, Zed Q) already exists.", "Zed Q"),
        ('DETAIL:  Failing row contains (1, "Zed", {"id": 2}).', "Zed"),
        ('invalid input syntax for type integer: "Zed"', "Zed"),
    ],
)
def test_personal_data_and_credentials_are_redacted(text: str, secret: str) -> None:
    redacted = redact(text)
    assert secret not in redacted
    assert REDACTED in redacted


@pytest.mark.parametrize(
    "text",
    [
        "worker.row_failed id=12 topic=orders/create attempts=2 error=DataError",
        "outbox.attempt_failed id=3 kind=tag attempts=1 state=pending error=timeout",
        "shops.installed shop=a-shop.myshopify.com auth=oauth",
        "scheduler.job_failed name=sweep at 2026-05-01T10:00:00+00:00 customer 7421934587123",
        "Listening at: http://127.0.0.1:8000 (4242)",
    ],
)
def test_ordinary_operational_lines_are_left_alone(text: str) -> None:
    assert redact(text) == text


def test_query_strings_keep_their_shape_with_credentials_blanked() -> None:
    query = "shop=a.myshopify.com&id_token=eyJ.x.y&host=YWRtaW4&session=s1&embedded=1"
    assert redact_query(query) == (
        "shop=a.myshopify.com&id_token=[redacted]&host=YWRtaW4&session=[redacted]&embedded=1"
    )
    assert redact_target("/auth/callback?code=c&state=s") == (
        "/auth/callback?code=[redacted]&state=[redacted]"
    )
    assert redact_target("/healthz") == "/healthz"


def test_known_secrets_are_blanked_but_short_ones_are_ignored(installed: None) -> None:
    assert redact("key is s3cret-app-key-value!") == "key is [redacted]!"
    assert redact("a short story") == "a short story"


def test_installed_redaction_covers_arguments_and_tracebacks(installed: None) -> None:
    quiet = logging.getLogger("shopseg.test.quiet")
    quiet.propagate = False  # a non-propagating logger (like gunicorn's) is covered too
    captured: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = captured.append  # type: ignore[method-assign]
    quiet.addHandler(handler)
    try:
        try:
            raise ValueError("customer ann@example.com with s3cret-app-key-value")
        except ValueError:
            quiet.exception("failed for %s", {"phone": "+16135550142"})
    finally:
        quiet.removeHandler(handler)
        quiet.propagate = True
    text = logging.Formatter().format(captured[0])
    for leaked in ("ann@example.com", "s3cret-app-key-value", "+16135550142"):
        assert leaked not in text
    assert "ValueError" in text and "failed for" in text


def test_filter_redacts_a_record_in_place_without_dropping_it() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "sent to %s", ("ann@example.com",), None
    )
    assert logs.RedactingFilter().filter(record) is True
    assert record.getMessage() == "sent to [redacted]"


def test_a_record_with_broken_arguments_does_not_leak_them() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d", ("ann@example.com",), None)
    logs.redact_record(record)
    assert "ann@example.com" not in record.getMessage()


def test_terminal_colour_codes_are_stripped() -> None:
    line = '"GET /healthz HTTP/1.1" \x1b[32m200\x1b[0m -'
    assert redact(line) == '"GET /healthz HTTP/1.1" 200 -'
