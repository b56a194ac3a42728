"""Shopify's delivery headers: collected by name, checked against what Shopify can send.

Every check here runs before the database is touched, so a header no column can hold is a
400 rather than a driver error (a 500 that Shopify would retry for four hours).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from plugin.errors import ValidationError

HMAC_HEADER = "hmac-sha256"
# Shopify's "Events" deliveries drop the X- prefix; both spellings are accepted.
ENVIRON_PREFIXES = ("HTTP_X_SHOPIFY_", "HTTP_SHOPIFY_")  # X-Shopify-*, Shopify-* in WSGI
SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
API_VERSION = re.compile(r"^(?:[0-9]{4}-(?:0[1-9]|1[0-2])|unstable)$")
# What a webhook_inbox column holds (plugin/inbox/models.py), by header.
MAX_LENGTHS = {"shop-domain": 255, "topic": 128, "webhook-id": 255, "event-id": 255}
# Every X-Shopify-* header is copied into a JSON column; none Shopify sends comes close.
MAX_OTHER_LENGTH = 1024
MAX_NAME_LENGTH = 128
# PostgreSQL's jsonb refuses NUL; no other control character belongs in these headers.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Trigger times outside these bounds are dropped like malformed ones: nothing Shopify sent
# falls outside, and near datetime's limits converting to UTC or adding a day overflows.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryHeaders:
    """The checked headers of one delivery, by meaning."""

    shop_domain: str
    topic: str
    webhook_id: str
    event_id: str | None
    api_version: str | None
    triggered_at: datetime | None
    copied: dict[str, str]  # what the inbox keeps: every header but the signature


def environ_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """Shopify's headers of a WSGI environ by lower-case name without prefix (`topic`,
    `hmac-sha256`, …), read from its `HTTP_*` keys directly."""
    found: dict[str, str] = {}
    for key, value in environ.items():
        for prefix in ENVIRON_PREFIXES:
            if key.startswith(prefix):
                found.setdefault(key[len(prefix) :].lower().replace("_", "-"), value)
    return found


def check_headers(headers: dict[str, str]) -> DeliveryHeaders:
    """The delivery's headers, or `ValidationError` naming the first one Shopify never sends."""
    copied = {f"x-shopify-{k}": v for k, v in headers.items() if k != HMAC_HEADER}
    for name, value in copied.items():
        _check_text(name, value)
    topic, webhook_id = headers.get("topic"), headers.get("webhook-id")
    if not topic or not webhook_id:
        raise ValidationError("X-Shopify-Topic and X-Shopify-Webhook-Id are required")
    return DeliveryHeaders(
        shop_domain=_shop_domain(headers),
        topic=topic,
        webhook_id=webhook_id,
        event_id=headers.get("event-id") or None,
        api_version=_api_version(headers.get("api-version")),
        triggered_at=parse_timestamp(headers.get("triggered-at")),
        copied=copied,
    )


def parse_timestamp(value: str | None) -> datetime | None:
    """ISO-8601 to aware UTC; a malformed or implausible stamp is dropped, the delivery kept."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        log.warning("webhooks.shopify.bad_triggered_at")
        return None
    if not EARLIEST <= moment < LATEST:
        log.warning("webhooks.shopify.bad_triggered_at")
        return None
    return moment


def _check_text(name: str, value: str) -> None:
    if len(name) > MAX_NAME_LENGTH or CONTROL.search(name):
        raise ValidationError("an X-Shopify-* header name is too long or holds a control character")
    limit = MAX_LENGTHS.get(name.removeprefix("x-shopify-"), MAX_OTHER_LENGTH)
    if len(value) > limit:
        raise ValidationError(f"{_label(name)} is longer than {limit} characters")
    if CONTROL.search(value):
        raise ValidationError(f"{_label(name)} holds a control character")


def _shop_domain(headers: dict[str, str]) -> str:
    domain = headers.get("shop-domain", "").strip().lower()
    if not SHOP_DOMAIN.match(domain):
        raise ValidationError("X-Shopify-Shop-Domain is missing or not a myshopify.com domain")
    return domain


def _api_version(value: str | None) -> str | None:
    if not value:
        return None
    if not API_VERSION.match(value):
        raise ValidationError("X-Shopify-API-Version is not YYYY-MM or unstable")
    return value


def _label(name: str) -> str:
    return "X-Shopify-" + "-".join(
        p.capitalize() for p in name.removeprefix("x-shopify-").split("-")
    )
