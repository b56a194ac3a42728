"""Per-shop trigger settings: defaults, validation of `key=value` edits, the webhook secret.

A missing `TriggerSetting` row means the defaults; a row holds only what the merchant set.
Shop-wide settings (outbound webhook, quiet hours, frequency cap) are the `general` row.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from itertools import pairwise
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from plugin.crypto import decrypt, encrypt
from plugin.db import lock_or_create
from plugin.errors import ValidationError
from plugin.triggers import catalogue as c
from plugin.triggers.models import TriggerSetting

MAX_STEPS = 3
# Customer fields the outbound webhook may carry, only if the merchant names them: by
# default it carries ids only (a first name is protected customer data as much as an email).
PERSONAL_FIELDS = ("email", "first_name", "last_name", "phone")
SECRET_ENC = "webhook_secret_enc"  # stored in the general row, never shown

DEFAULTS: dict[str, dict[str, Any]] = {
    c.ABANDONED_CHECKOUT: {
        "enabled": True,
        "steps": ["1h"],
        "expire_after_days": 7,
        # Not seg:abandoned-cart: that is the default tag of the Abandoned cart segment.
        "tag": "seg:cart-reminder",
        "tag_hours": 72,
    },
    c.REACTIVATION: {
        "enabled": True,
        "segment": "inactive",
        "tag": "seg:reactivation",
        "tag_hours": 72,
    },
    c.WELCOME: {"enabled": True, "tag": "seg:welcome", "tag_hours": 72},
    c.CATEGORY_FOLLOW_UP: {
        "enabled": True,
        "product_type": None,
        "days": 7,
        "tag": "seg:follow-up",
        "tag_hours": 72,
    },
    c.GENERAL: {
        "webhook_url": None,
        "quiet_hours": None,
        "frequency_cap": 1,
        "frequency_cap_hours": 24,
        "webhook_personal_fields": [],
    },
}
NAMES = (*c.TRIGGERS, c.GENERAL)


# --- parsing one value --------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_OFF = ("", "none", "off", "null")


def duration(text: str) -> timedelta:
    """`30m`, `1h`, `3d` as a timedelta; ValueError otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError("use a number and a unit m, h or d, e.g. 1h")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise ValueError("use true or false")


def _int_between(low: int, high: int) -> Callable[[Any], int]:
    def parse(raw: Any) -> int:
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise ValueError("not a whole number") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def _steps(raw: Any) -> list[str]:
    parts = raw if isinstance(raw, list) else [p for p in str(raw).split(",") if p.strip()]
    if not 1 <= len(parts) <= MAX_STEPS:
        raise ValueError(f"give 1 to {MAX_STEPS} delays, e.g. 1h,24h,72h")
    delays = [duration(str(p)) for p in parts]
    if delays[0] < timedelta(minutes=5):
        raise ValueError("the first delay must be at least 5m")
    if any(b <= a for a, b in pairwise(delays)):
        raise ValueError("each delay must be longer than the one before")
    return [str(p).strip() for p in parts]


def _optional_text(raw: Any) -> str | None:
    text = "" if raw is None else str(raw).strip()
    if len(text) > 255:
        raise ValueError("at most 255 characters")
    return None if text.lower() in _OFF else text


def _tag(raw: Any) -> str | None:
    tag = _optional_text(raw)
    if tag and "," in tag:
        raise ValueError("a tag cannot contain a comma")
    return tag


def _webhook_url(raw: Any) -> str | None:
    url = _optional_text(raw)
    if url is None:
        return None
    parts = urlsplit(url)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise ValueError("must be an https:// URL (http:// only for localhost)")
    if not parts.hostname:
        raise ValueError("has no host")
    return url


def _quiet_hours(raw: Any) -> str | None:
    text = _optional_text(raw)
    if text is None:
        return None
    text = text.replace(" ", "")
    match = _QUIET.match(text)
    if not match or text[:5] == text[6:]:
        raise ValueError("use HH:MM-HH:MM in the shop's time zone, e.g. 21:00-08:00, or off")
    return text


def _personal_fields(raw: Any) -> list[str]:
    parts = raw if isinstance(raw, list) else str(raw).split(",")
    names = {str(p).strip().lower() for p in parts} - {"", *_OFF}
    unknown = sorted(names - set(PERSONAL_FIELDS))
    if unknown:
        raise ValueError(
            f"unknown field {', '.join(unknown)}; choose from {', '.join(PERSONAL_FIELDS)}"
            " (comma-separated), or none for ids only"
        )
    return [name for name in PERSONAL_FIELDS if name in names]


PARSERS: dict[str, Callable[[Any], Any]] = {
    "enabled": _bool,
    "steps": _steps,
    "expire_after_days": _int_between(1, 60),
    "tag": _tag,
    "tag_hours": _int_between(1, 720),
    "segment": lambda raw: _optional_text(raw) or "inactive",
    "product_type": _optional_text,
    "days": _int_between(1, 365),
    "webhook_url": _webhook_url,
    "quiet_hours": _quiet_hours,
    "frequency_cap": _int_between(0, 10),
    "frequency_cap_hours": _int_between(1, 168),
    "webhook_personal_fields": _personal_fields,
}


# --- reading and writing ------------------------------------------------------------------


def load(session: Session, shop_id: int, name: str) -> dict[str, Any]:
    """The effective settings of one trigger (or `general`): defaults overlaid by the row."""
    _known(name)
    row = session.get(TriggerSetting, (shop_id, name))
    values = dict(DEFAULTS[name])
    if row is not None:
        values.update({k: v for k, v in (row.settings or {}).items() if k in values})
        if "enabled" in values:
            values["enabled"] = row.enabled
    return values


def steps(values: Mapping[str, Any]) -> list[timedelta]:
    return [duration(s) for s in values["steps"]]


def quiet_window(values: Mapping[str, Any]) -> tuple[time, time] | None:
    text = values.get("quiet_hours")
    if not text:
        return None
    start, end = text.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


@dataclass(frozen=True)
class Edit:
    values: dict[str, Any]  # the effective settings after the edit
    new_secret: str | None  # a webhook secret generated by this edit: show it once


def apply_edit(
    session: Session, shop_id: int, name: str, pairs: Mapping[str, str], secret_key: str
) -> Edit:
    """Validate `key=value` pairs and store them; nothing is stored if one is invalid."""
    _known(name)
    parsed = {
        key: parse_setting(name, key, raw) for key, raw in pairs.items() if key != "webhook_secret"
    }
    rotate = _rotation(name, pairs)
    # Locked: two concurrent edits neither collide on insert nor lose each other's keys.
    row = lock_or_create(session, TriggerSetting, shop_id=shop_id, name=name)
    stored = dict(row.settings or {})
    if "enabled" in parsed:
        row.enabled = parsed.pop("enabled")
    stored.update(parsed)
    new_secret = None
    if name == c.GENERAL and (rotate or (stored.get("webhook_url") and SECRET_ENC not in stored)):
        new_secret = secrets.token_urlsafe(32)
        stored[SECRET_ENC] = encrypt(secret_key, new_secret)
    row.settings = stored  # a new dict, so the JSON column is seen as changed
    session.flush()
    return Edit(load(session, shop_id, name), new_secret)


def webhook_secret(session: Session, shop_id: int, secret_key: str) -> str | None:
    """The shop's outbound webhook signing secret, decrypted; None before a URL was set."""
    row = session.get(TriggerSetting, (shop_id, c.GENERAL))
    encrypted = (row.settings or {}).get(SECRET_ENC) if row is not None else None
    return decrypt(secret_key, encrypted) if encrypted else None


def has_secret(session: Session, shop_id: int) -> bool:
    row = session.get(TriggerSetting, (shop_id, c.GENERAL))
    return bool(row is not None and (row.settings or {}).get(SECRET_ENC))


def _known(name: str) -> None:
    if name not in DEFAULTS:
        raise ValidationError(f"unknown trigger {name!r}; known: {', '.join(NAMES)}")


class SettingError(ValidationError):
    """One invalid setting; `key` and the bare `reason` let a form show it at its field."""

    def __init__(self, detail: str, key: str, reason: str) -> None:
        super().__init__(detail)
        self.key, self.reason = key, reason


def parse_setting(name: str, key: str, raw: Any) -> Any:
    """One `key=value` of trigger `name` parsed and checked; SettingError when invalid."""
    _known(name)
    if key not in DEFAULTS[name]:
        known = ", ".join([*DEFAULTS[name], *(["webhook_secret"] if name == c.GENERAL else [])])
        reason = f"unknown setting; known: {known}"
        raise SettingError(f"{name}: unknown setting {key!r}; known: {known}", key, reason)
    try:
        return PARSERS[key](raw)
    except ValueError as exc:
        raise SettingError(f"{name}: {key}={raw!r}: {exc}", key, str(exc)) from None


def setting_errors(name: str, pairs: Mapping[str, Any]) -> dict[str, str]:
    """Every invalid pair of an edit and why (all of them, where `apply_edit` stops at the
    first); empty when `apply_edit` would accept the edit."""
    errors: dict[str, str] = {}
    for key, raw in pairs.items():
        try:
            if key == "webhook_secret":
                _rotation(name, {key: raw})
            else:
                parse_setting(name, key, raw)
        except SettingError as exc:
            errors[key] = exc.reason
        except ValidationError as exc:
            errors[key] = exc.detail
    return errors


def _rotation(name: str, pairs: Mapping[str, str]) -> bool:
    if "webhook_secret" not in pairs:
        return False
    if name != c.GENERAL or str(pairs["webhook_secret"]).strip() != "rotate":
        raise ValidationError(
            f"{name}: webhook_secret={pairs['webhook_secret']!r}: the secret is generated;"
            " only `general webhook_secret=rotate` replaces it"
        )
    return True
