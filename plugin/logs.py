"""Logging setup and the redaction every log record passes: no personal data, token or secret.

Engines hide their bound parameters (`plugin.db.make_engine`), so exceptions do not carry
payload values in the first place; this module is the last line of defence for whatever
still slips into a message, its arguments or a traceback. `install()` puts the redaction
in the log record factory, so it covers every logger of the process, including those that
do not propagate to the root (gunicorn's), and every handler (files, pytest's capture).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, quote

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 8  # a shorter "secret" would blank out ordinary words

# Query or form parameters whose value is a credential or personal data.
SENSITIVE_PARAMS = frozenset(
    {
        "id_token",
        "code",
        "hmac",
        "signature",
        "state",
        "session",
        "token",
        "access_token",
        "refresh_token",
        "subject_token",
        "client_secret",
        "secret",
        "password",
        "email",
        "phone",
    }
)
_PARAMS = "|".join(sorted(SENSITIVE_PARAMS))
# Outside a URL only unambiguous names: `state=pending` in a message is not OAuth's state.
_CREDENTIALS = "id_token|access_token|refresh_token|subject_token|client_secret|password|hmac"
# Keys of a dict or JSON fragment whose string value is personal data.
PERSONAL_KEYS = (
    "email|phone|first_name|last_name|name|address1|address2|city|zip|company"
    "|note|customer_email|contact_email|ip_address|browser_ip"
)

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Terminal colours (Werkzeug's request log on a TTY) have no place in a log file.
    (re.compile(r"\x1b\[[0-9;]*[A-Za-z]"), ""),
    # SQLAlchemy's "[parameters: …]" line, should an engine ever show its parameters.
    (re.compile(r"\[parameters: [^\n]*"), f"[parameters: {REDACTED}]"),
    # PostgreSQL quotes the offending values in its error details.
    (re.compile(r"(\bKey \([^)\n]*\)=\()[^\n]*"), rf"\1{REDACTED})"),
    (re.compile(r"(Failing row contains \()[^\n]*"), rf"\1{REDACTED})"),
    (re.compile(r"(invalid input (?:syntax|value) for [^:\n]*: )\"[^\n]*\""), rf'\1"{REDACTED}"'),
    (re.compile(r"(://[^/\s:@]+:)[^@\s/]+@"), rf"\1{REDACTED}@"),
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+"), rf"\1{REDACTED}"),
    (re.compile(r"\beyJ[\w-]*\.[\w-]*\.[\w-]*"), REDACTED),  # a JWT (session token)
    (re.compile(r"\bshp[a-z]{2,3}_[A-Za-z0-9]+"), REDACTED),  # shpat_, shpss_, shpua_, …
    (re.compile(rf"(?i)([?&](?:{_PARAMS})=)[^&\s\"',;]+"), rf"\1{REDACTED}"),
    (re.compile(rf"(?i)\b((?:{_CREDENTIALS})=)[^&\s\"',;]+"), rf"\1{REDACTED}"),
    (
        re.compile(rf"(?i)([\"']?\b(?:{PERSONAL_KEYS})[\"']?\s*[:=]\s*)(\"[^\"]*\"|'[^']*')"),
        rf'\1"{REDACTED}"',
    ),
    (re.compile(r"[\w.+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}"), REDACTED),  # email
    (re.compile(r"\+\d[\d ()./-]{6,}\d"), REDACTED),  # international phone number
    (re.compile(r"\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b"), REDACTED),  # 555-555-0100
]

_secrets: set[str] = set()


def redact(text: str) -> str:
    """`text` with emails, phone numbers, tokens, credentials and known secrets replaced
    (and terminal colour codes dropped)."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_query(query: str) -> str:
    """A URL query string with the values of credential-bearing parameters redacted."""
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    return "&".join(
        f"{quote(k, safe='[]')}={REDACTED if k.lower() in SENSITIVE_PARAMS else quote(v)}"
        for k, v in pairs
    )


def redact_target(target: str) -> str:
    """A request target (`/path?query`) with its query redacted."""
    path, sep, query = target.partition("?")
    return f"{path}{sep}{redact_query(query)}" if sep else target


def add_secrets(values: Iterable[str | None]) -> None:
    """Remember secret values (API secret, encryption key, passwords) to blank out."""
    _secrets.update(v for v in values if v and len(v) >= MIN_SECRET_LENGTH)


class RedactingFilter(logging.Filter):
    """Redacts a record in place (message with its arguments, traceback, stack); never drops."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def redact_record(record: logging.LogRecord) -> None:
    if getattr(record, "shopseg_redacted", False):
        return
    try:
        message = record.getMessage()
    except Exception:  # a bad format string must not leak its arguments either
        message = f"{record.msg!s} (unformattable arguments)"
    record.msg, record.args = redact(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record.shopseg_redacted = True


_installed: list[Callable[..., logging.LogRecord]] = []


def install(secrets: Iterable[str | None] = ()) -> None:
    """Redact every record created from now on in this process (idempotent)."""
    add_secrets(secrets)
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redact_record(record)
        return record

    _installed.append(previous)
    logging.setLogRecordFactory(factory)


def uninstall() -> None:
    """Back to the factory before `install()` (tests)."""
    if _installed:
        logging.setLogRecordFactory(_installed.pop())
    _secrets.clear()


def configure_logging(level: str, secrets: Iterable[str | None] = ()) -> None:
    """The process's logging: one stream handler, plain text (no colours), redaction on."""
    install(secrets)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger().setLevel(level)  # basicConfig does nothing once a handler exists
    # Their INFO lines (every job run, every migration context) drown the app's own.
    for noisy in ("apscheduler", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # SQLAlchemy's engine logs every statement at INFO and every fetched row at DEBUG once its
    # logger inherits such a level: rows are profiles (names, emails), which no pattern can
    # recognise, so the engine never logs below WARNING whatever the app's level.
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
