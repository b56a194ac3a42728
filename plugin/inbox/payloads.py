"""Stored delivery bodies: which raw bytes can be kept as text, and parsing them into payloads.

The receiver only decides whether a verified body can be stored as text; parsing happens
here, in the worker, so a body Python's JSON parser refuses never costs the request path.
"""

from __future__ import annotations

import json
from typing import Any

from plugin.errors import ValidationError

NUL = "\x00"
# The JSON escape of NUL; its absence means no string of the document holds one.
NUL_ESCAPE = "\\u0000"


def body_text(body: bytes) -> tuple[str | None, str | None]:
    """The body as text to store, or None and why it cannot be stored.

    Both databases store the payload as text: bytes that are not UTF-8 have no text form,
    and PostgreSQL's text refuses a raw NUL (which no JSON document can contain anyway).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"the body is not UTF-8 (invalid byte at offset {exc.start}); not stored"
    if NUL in text:
        return None, f"the body holds a raw NUL byte at offset {text.index(NUL)}; not stored"
    return text, None


def parse_payload(text: str | None) -> dict[str, Any]:
    """A stored body as a JSON object with NUL removed from every key and string.

    Raises `ValidationError` with a reason that quotes nothing of the body: the body can
    never be processed, so the worker parks it as dead at once.
    """
    if text is None:
        raise ValidationError("the delivery's payload is gone")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"the payload is not JSON: {exc}") from None
    except RecursionError:
        raise ValidationError("the payload is nested deeper than the JSON parser allows") from None
    except ValueError:  # an integer over sys.get_int_max_str_digits() digits
        raise ValidationError("the payload holds a number with too many digits") from None
    if not isinstance(payload, dict):
        raise ValidationError("the payload is not a JSON object")
    if NUL_ESCAPE in text:
        _strip_nul(payload)
    return payload


def _strip_nul(document: dict[str, Any] | list[Any]) -> None:
    """Remove NUL from every key and string in place, without recursion (any depth).

    PostgreSQL's text and jsonb refuse NUL while SQLite keeps it: dropping it here, once,
    makes both databases store the same values.
    """
    stack: list[Any] = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            cleaned = {_clean(k): _clean(v) for k, v in item.items()}
            item.clear()
            item.update(cleaned)
            stack.extend(v for v in cleaned.values() if isinstance(v, dict | list))
        else:
            item[:] = [_clean(v) for v in item]
            stack.extend(v for v in item if isinstance(v, dict | list))


def _clean(value: Any) -> Any:
    return value.replace(NUL, "") if isinstance(value, str) else value
