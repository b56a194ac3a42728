"""Stored bodies: what can be kept as text, how the worker parses them, what it retries."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, StatementError

from plugin.errors import ValidationError
from plugin.inbox.payloads import body_text, parse_payload
from plugin.worker import is_transient


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"a":' * 3000 + "1" + "}" * 3000, "nested deeper"),
        ('{"id": ' + "1" * 4301 + "}", "too many digits"),
        ("{'a': 1}", "not JSON: Expecting property name"),
        ("[1]", "not a JSON object"),
        (None, "gone"),
    ],
)
def test_unparseable_payload_is_a_validation_error_quoting_nothing(
    text: str | None, reason: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_payload(text)
    assert reason in caught.value.detail
    assert "111" not in caught.value.detail


def test_nul_is_removed_from_every_key_and_string_at_any_depth() -> None:
    deep = '{"k":' * 900 + '"a\\u0000b"' + "}" * 900
    payload = parse_payload(
        '{"na\\u0000me": "B\\u0000ob", "tags": ["x\\u0000", ["\\u0000y", {"z": "\\u0000"}]],'
        f' "n": 1, "ok": null, "deep": {deep}}}'
    )
    assert payload["name"] == "Bob"
    assert payload["tags"] == ["x", ["y", {"z": ""}]]
    assert (payload["n"], payload["ok"]) == (1, None)
    inner = payload["deep"]
    for _ in range(899):
        inner = inner["k"]
    assert inner == {"k": "ab"}


def test_keys_equal_once_nul_is_removed_keep_the_last_value_like_json() -> None:
    assert parse_payload('{"a\\u0000": 1, "a": 2}') == {"a": 2}
    assert parse_payload('{"a": 2, "a\\u0000": 1}') == {"a": 1}


def test_an_escaped_backslash_before_u0000_is_not_a_nul() -> None:
    assert parse_payload('{"path": "C:\\\\u0000"}') == {"path": "C:\\u0000"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b'{"a": "\xff"}', "not UTF-8 (invalid byte at offset 7)"), (b'{"a":\x00}', "offset 5")],
)
def test_body_that_is_not_text_is_not_stored(body: bytes, reason: str) -> None:
    text, unstorable = body_text(body)
    assert text is None and unstorable is not None and reason in unstorable


def test_utf8_body_is_stored_as_is() -> None:
    assert body_text('{"name": "Zoë\\u0000"}'.encode()) == ('{"name": "Zoë\\u0000"}', None)


def _db(cls: type, message: str, sqlstate: str | None = None) -> Exception:
    orig = sqlite3.Error(message)
    orig.sqlstate = sqlstate  # type: ignore[attr-defined]
    return cls("SELECT 1", {}, orig)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (ValidationError("bad payload"), False),
        (_db(DataError, "value too long", "22001"), False),
        (_db(IntegrityError, "null value in column", "23502"), False),
        (_db(IntegrityError, "NOT NULL constraint failed: customers.email"), False),
        (_db(IntegrityError, "duplicate key value", "23505"), True),
        (_db(IntegrityError, "UNIQUE constraint failed: customers.platform_id"), True),
        (_db(OperationalError, "database is locked"), True),
        (_db(OperationalError, "could not serialize access", "40001"), True),
        (StatementError("bind failed", "SELECT 1", {}, OverflowError("int too big")), False),
        (StatementError("bind failed", "SELECT 1", {}, ConnectionError("reset")), True),
        (RecursionError("too deep"), False),
        (ValueError("bad"), False),
        (TypeError("bad"), False),
        (TimeoutError("timed out"), True),
        (RuntimeError("unknown"), True),  # unknown: retried, within the attempt limit
    ],
)
def test_failures_are_classified_transient_or_permanent(exc: Exception, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_a_dropped_connection_is_transient_whatever_its_class() -> None:
    exc = _db(DataError, "server closed the connection")
    exc.connection_invalidated = True  # type: ignore[attr-defined]
    assert is_transient(exc)
